using System.Diagnostics;
using System.Globalization;
using Sluice.Checkpointing;
using Sluice.KeyGroups;
using Sluice.Pipelines;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Sluice.Tests.Recovery;

namespace Sluice.Tests.FaultSchedule;

/// <summary>
/// Carries out the faults of one schedule on a running cluster and writes the timeline. Faults that change the silos
/// (crash, stop, join) run one at a time in the background, as the test cluster changes its silo list one change at a
/// time; the others take effect at once and heal by themselves.
/// </summary>
internal sealed class FaultActions(SluiceCluster cluster, string pipelineId, int windowTasks, int sinkTasks, IFaultSink sink, FaultInjection faults)
{
    private const int MaxSilos = 4;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private Task _siloChanges = Task.CompletedTask;
    private readonly List<Task> _running = [];
    private readonly List<string> _timeline = [];
    private int _migrationRequests;

    public IReadOnlyList<string> Timeline
    {
        get
        {
            lock (_timeline)
            {
                return _timeline.ToList();
            }
        }
    }

    public int Crashes { get; private set; }

    public int Stops { get; private set; }

    public int Joins { get; private set; }

    public int MigrationRequests => Volatile.Read(ref _migrationRequests);

    public void Note(string what)
    {
        lock (_timeline)
        {
            _timeline.Add(string.Create(CultureInfo.InvariantCulture, $"{_clock.Elapsed.TotalSeconds,6:0.00}s {what}"));
        }
    }

    public void Start(ScheduledFault fault)
    {
        var duration = TimeSpan.FromMilliseconds(fault.DurationMs);
        var pick = new Random(fault.Pick);
        switch (fault.Kind)
        {
            case FaultKind.Crash:
            case FaultKind.Stop:
            case FaultKind.Join:
                _siloChanges = ChangeSilosAfterAsync(_siloChanges, fault.Kind, pick);
                _running.Add(_siloChanges);
                return;
            case FaultKind.Migrate:
                _running.Add(MigrateAsync(pick));
                return;
            case FaultKind.SlowStaging:
                sink.StagingDelay = TimeSpan.FromMilliseconds(pick.Next(100, 801));
                _running.Add(HealLaterAsync(duration, () => sink.StagingDelay = TimeSpan.Zero));
                Note($"sink staging takes {sink.StagingDelay.TotalMilliseconds} ms for {fault.DurationMs} ms");
                return;
            case FaultKind.SlowCommit:
                sink.CommitDelay = TimeSpan.FromMilliseconds(pick.Next(100, 501));
                _running.Add(HealLaterAsync(duration, () => sink.CommitDelay = TimeSpan.Zero));
                Note($"sink commits take {sink.CommitDelay.TotalMilliseconds} ms for {fault.DurationMs} ms");
                return;
            case FaultKind.FailingPrepare:
                sink.FailPreparesFor(duration);
                break;
            case FaultKind.FailingCommit:
                sink.FailCommitsFor(duration);
                break;
            case FaultKind.SlowStore:
                faults.SlowStoreFor(duration);
                break;
            case FaultKind.FailingStore:
                faults.FailStoreWritesFor(duration);
                break;
            case FaultKind.DuplicateExchange:
                faults.DuplicateDeliveriesFor(duration);
                break;
            case FaultKind.DelayExchange:
                faults.DelayDeliveriesFor(duration);
                break;
            case FaultKind.SlowSource:
                faults.SlowSourceFor(duration);
                break;
            case FaultKind.DropMessages:
                faults.DropMessagesFor(duration);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(fault), fault.Kind, null);
        }

        Note($"{fault.Kind} for {fault.DurationMs} ms");
    }

    /// <summary>Waits for the silo changes and migrations still under way (each is bounded by the test cluster's own timeouts).</summary>
    public async Task SettleAsync()
    {
        await Task.WhenAll(_running);
        Note("every fault has run");
    }

    private async Task HealLaterAsync(TimeSpan duration, Action heal)
    {
        await Task.Delay(duration);
        heal();
    }

    private async Task ChangeSilosAfterAsync(Task previous, FaultKind kind, Random pick)
    {
        await previous;
        try
        {
            var secondaries = cluster.Cluster.SecondarySilos.ToList();
            if (kind == FaultKind.Join)
            {
                if (cluster.Cluster.GetActiveSilos().Count() >= MaxSilos)
                {
                    Note($"join skipped: {MaxSilos} silos already");
                    return;
                }

                Note("a silo joins");
                var joined = await cluster.StartSiloAsync();
                Joins++;
                Note($"silo {joined.SiloAddress} joined");
                return;
            }

            // The primary holds the test cluster's membership table: only secondaries crash or stop.
            if (secondaries.Count == 0)
            {
                Note($"{kind} skipped: no secondary silo left");
                return;
            }

            var victim = secondaries[pick.Next(secondaries.Count)];
            if (kind == FaultKind.Crash)
            {
                Note($"silo {victim.SiloAddress} crashes");
                faults.Crash(victim.SiloAddress);
                await Task.Delay(pick.Next(100, 400));
                await cluster.Cluster.KillSiloAsync(victim);
                Crashes++;
                Note($"silo {victim.SiloAddress} killed");
                // The next silo change waits for the death: two crashes at once leave the survivors unable to agree.
                await NoteDeathAsync(victim.SiloAddress);
            }
            else
            {
                Note($"silo {victim.SiloAddress} stops gracefully");
                await cluster.Cluster.StopSiloAsync(victim);
                Stops++;
                Note($"silo {victim.SiloAddress} stopped");
            }
        }
        catch (Exception ex)
        {
            Note($"{kind} threw {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>Notes when the cluster's membership declares <paramref name="silo"/> dead (a restart waits for that).</summary>
    private async Task NoteDeathAsync(SiloAddress silo)
    {
        var management = cluster.Cluster.Client.GetGrain<IManagementGrain>(0);
        var since = Stopwatch.StartNew();
        while (since.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                var hosts = await management.GetHosts(onlyActive: false);
                if (hosts.TryGetValue(silo, out var status) && status == SiloStatus.Dead)
                {
                    Note($"silo {silo} declared dead after {since.Elapsed.TotalSeconds:0.0} s");
                    return;
                }
            }
            catch (Exception)
            {
                // the membership may be busy with the change; ask again
            }

            await Task.Delay(100);
        }

        Note($"silo {silo} not declared dead within 30 s");
    }

    /// <summary>Asks one to three key groups of the window or sink stage, or the coordinator, to move to another live silo.</summary>
    private async Task MigrateAsync(Random pick)
    {
        var client = cluster.Cluster.Client;
        var management = client.GetGrain<IManagementGrain>(0);
        var silos = cluster.Cluster.GetActiveSilos().Select(s => s.SiloAddress).Where(s => !faults.IsCrashed(s)).ToList();
        var moves = pick.Next(1, 4);
        for (var i = 0; i < moves; i++)
        {
            var (name, grain, migrate) = pick.Next(8) switch
            {
                0 => ("coordinator", (IAddressable)client.GetGrain<ICheckpointProtocolGrain>(pipelineId), (Func<SiloAddress, Task>?)null),
                < 3 => KeyGroup(2, pick.Next(sinkTasks)),
                _ => KeyGroup(1, pick.Next(windowTasks)),
            };
            try
            {
                var now = await management.GetActivationAddress(grain);
                var others = silos.Where(s => !s.Equals(now)).ToList();
                if (others.Count == 0)
                {
                    continue;
                }

                var target = others[pick.Next(others.Count)];
                Note($"{name} asked to move from {now?.ToString() ?? "nowhere"} to {target}");
                Interlocked.Increment(ref _migrationRequests); // migrations of several faults run at once
                await (migrate ?? (t => client.GetGrain<ICheckpointProtocolGrain>(pipelineId).MigrateAsync(t)))(target);
            }
            catch (Exception ex)
            {
                Note($"moving {name} threw {ex.GetType().Name}: {ex.Message}");
            }
        }

        (string, IAddressable, Func<SiloAddress, Task>?) KeyGroup(int stage, int task)
        {
            var key = PipelinePlan.TaskKey(pipelineId, stage, task);
            var keyGroup = client.GetGrain<IKeyGroupGrain>(key);
            return (key, keyGroup, keyGroup.MigrateAsync);
        }
    }

    /// <summary>Silos in the cluster at the end, for the summary.</summary>
    public string Silos() => string.Join(", ", cluster.Cluster.GetActiveSilos().Select(s => s.SiloAddress.ToString()));
}
