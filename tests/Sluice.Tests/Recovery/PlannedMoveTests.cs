using Microsoft.Extensions.DependencyInjection;
using Sluice.Checkpointing;
using Sluice.Grains;
using Sluice.KeyGroups;
using Sluice.Pipelines;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Xunit.Abstractions;

namespace Sluice.Tests.Recovery;

/// <summary>
/// Planned moves of a whole silo's share: a silo joining takes source partitions over, a silo shutting down gracefully
/// hands its partitions over and migrates its key groups (sink tasks with their open epoch) and the coordinator.
/// Neither restarts the pipeline. With a plain (not transactional) sink anything lost or processed twice in a move
/// shows up in the output, which must equal the brute-force oracle exactly; with a transactional one, so must the
/// committed output.
/// </summary>
public sealed class PlannedMoveTests(ITestOutputHelper output) : IDisposable
{
    private const int Queues = 16;
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-planned-").FullName;

    /// <param name="firstAnswerLost">
    /// The coordinator hands the first handover out, then its caller sees a failure instead of the answer (a timeout, the
    /// coordinator moving): asked again, it must give the same handover, or the partition would be read from the
    /// checkpoint while its previous owner had already processed past it, and records would count twice.
    /// </param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_silo_joining_mid_stream_takes_source_partitions_over_without_a_restart_and_the_output_equals_the_oracle_exactly(bool firstAnswerLost)
    {
        // One silo reads all 16 queues; the queue balancer gives the joining one about half of them (none: 1 in 65,536).
        var input = new OutOfOrderEventFeed(seed: firstAnswerLost ? 47 : 41, partitions: Queues);
        var sink = new CollectingSink<WindowResult>("sums", parallelism: 2);
        var lose = new LoseFirstHandoverAnswer(firstAnswerLost);
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 1, silo =>
        {
            silo.Services.Configure<SourceProviderOptions>(SourceStreams.ProviderName, o => o.QueueCount = Queues);
            silo.AddIncomingGrainCallFilter(lose);
        });
        cluster.Register(RecoveryScenario.Define("joined", input.Source, sink));
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("joined");
        await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 2, "2 checkpoints");

        await cluster.StartSiloAsync();
        var completedBefore = 0;
        await RecoveryScenario.AppendUntilAsync(
            input,
            async () =>
            {
                var recovery = await coordinator.GetRecoveryAsync();
                var completed = RecoveryScenario.Completed(await coordinator.GetHistoryAsync());
                var handedOver = recovery.SourceHandovers > (firstAnswerLost ? 1 : 0) && lose.Lost == (firstAnswerLost ? 1 : 0);
                if (!handedOver)
                {
                    completedBefore = completed;
                }

                return handedOver && completed >= completedBefore + 2;
            },
            "source partitions handed over to the new silo, then 2 checkpoints");

        await FinishAndAssertNoRestartAsync(cluster, input, () => sink.Values.ToList(), coordinator);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_silo_shut_down_gracefully_mid_stream_hands_its_partitions_over_and_migrates_its_key_groups_without_a_restart_and_the_output_equals_the_oracle_exactly(bool transactionalSink)
    {
        var input = new OutOfOrderEventFeed(seed: 43, partitions: 4);
        var plain = new CollectingSink<WindowResult>("sums", parallelism: 2);
        var committing = new CommittingSink<WindowResult>("committed", parallelism: 2);
        SinkDefinition<WindowResult> sink = transactionalSink ? committing : plain;
        Func<List<WindowResult>> results = transactionalSink ? committing.Committed : () => plain.Values.ToList();
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 3);
        cluster.Register(RecoveryScenario.Define("drained", input.Source, sink));
        var client = cluster.Cluster.Client;
        var coordinator = client.GetGrain<ICheckpointCoordinatorGrain>("drained");
        await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 2, "2 checkpoints");

        // Stop the secondary silo holding the most tasks (the coordinator counts as much as all of them): the primary
        // holds the test cluster's membership table.
        var management = client.GetGrain<IManagementGrain>(0);
        var coordinatorSilo = await management.GetActivationAddress(coordinator);
        var tasks = Enumerable.Range(0, 8).Select(t => PipelinePlan.TaskKey("drained", 1, t))
            .Concat(Enumerable.Range(0, 2).Select(t => PipelinePlan.TaskKey("drained", 2, t)))
            .Select(key => client.GetGrain<IKeyGroupGrain>(key)).ToList();
        var before = await Task.WhenAll(tasks.Select(g => management.GetActivationAddress(g).AsTask()));
        var victim = cluster.Cluster.SecondarySilos
            .MaxBy(s => before.Count(a => s.SiloAddress.Equals(a)) + (s.SiloAddress.Equals(coordinatorSilo) ? tasks.Count : 0))!;
        var onVictim = before.Count(a => victim.SiloAddress.Equals(a));
        if (onVictim == 0 && !victim.SiloAddress.Equals(coordinatorSilo))
        {
            // Placement left the secondaries empty: put some key groups there, so the stop has something to move.
            foreach (var task in tasks.Take(4))
            {
                await task.MigrateAsync(victim.SiloAddress);
            }

            await RecoveryScenario.AppendUntilAsync(
                input,
                async () => (before = await Task.WhenAll(tasks.Select(g => management.GetActivationAddress(g).AsTask()))).Any(a => victim.SiloAddress.Equals(a)),
                "a key group on the silo to stop");
            onVictim = before.Count(a => victim.SiloAddress.Equals(a));
        }

        output.WriteLine($"stopping {victim.SiloAddress}: coordinator there: {victim.SiloAddress.Equals(coordinatorSilo)}, {onVictim} of {tasks.Count} tasks there");

        var stop = cluster.Cluster.StopSiloAsync(victim);
        var completedAfterStop = int.MaxValue;
        await RecoveryScenario.AppendUntilAsync(
            input,
            async () =>
            {
                if (!stop.IsCompleted)
                {
                    return false; // (calls may be rejected while the silo stops: the client retries later)
                }

                var completed = RecoveryScenario.Completed(await coordinator.GetHistoryAsync());
                completedAfterStop = Math.Min(completedAfterStop, completed);
                return completed >= completedAfterStop + 2;
            },
            "the graceful stop, then 2 checkpoints");
        await stop;

        var after = await Task.WhenAll(tasks.Select(g => management.GetActivationAddress(g).AsTask()));
        Assert.DoesNotContain(after, a => a?.Equals(victim.SiloAddress) == true);
        await FinishAndAssertNoRestartAsync(cluster, input, results, coordinator);
    }

    /// <summary>
    /// A silo that holds no key group and no coordinator, only source partitions, stops within a moment of announcing it:
    /// the coordinator may never see it ShuttingDown in the membership table, only Dead. It must still know the silo left
    /// on purpose (the silo tells it first), take the handed-over partitions and not restart.
    /// </summary>
    [Fact]
    public async Task A_silo_reading_only_source_partitions_shut_down_gracefully_hands_them_over_without_a_restart()
    {
        var input = new OutOfOrderEventFeed(seed: 47, partitions: 4);
        var sink = new CommittingSink<WindowResult>("committed", parallelism: 2);
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 3);
        cluster.Register(RecoveryScenario.Define("sources-only", input.Source, sink));
        var client = cluster.Cluster.Client;
        var coordinator = client.GetGrain<ICheckpointCoordinatorGrain>("sources-only");
        await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 2, "2 checkpoints");

        var management = client.GetGrain<IManagementGrain>(0);
        var coordinatorSilo = await management.GetActivationAddress(coordinator);
        var victim = cluster.Cluster.SecondarySilos.First(s => !s.SiloAddress.Equals(coordinatorSilo));
        var tasks = Enumerable.Range(0, 8).Select(t => PipelinePlan.TaskKey("sources-only", 1, t))
            .Concat(Enumerable.Range(0, 2).Select(t => PipelinePlan.TaskKey("sources-only", 2, t)))
            .Select(key => client.GetGrain<IKeyGroupGrain>(key)).ToList();
        var here = new List<IKeyGroupGrain>();
        for (var i = 0; ; i++)
        {
            var at = await Task.WhenAll(tasks.Select(g => management.GetActivationAddress(g).AsTask()));
            here = tasks.Where((_, t) => victim.SiloAddress.Equals(at[t])).ToList();
            if (here.Count == 0)
            {
                break;
            }

            Assert.True(i < 600, $"key groups still on {victim.SiloAddress} after 60 s: {string.Join(", ", here.Select(g => g.GetPrimaryKeyString()))}");
            if (i % 20 == 0)
            {
                foreach (var task in here)
                {
                    await task.MigrateAsync(cluster.Cluster.Primary!.SiloAddress); // (again every 2 s: a move asked mid-checkpoint may wait)
                }
            }

            input.Append(rounds: 1);
            await Task.Delay(100);
        }

        output.WriteLine($"stopping {victim.SiloAddress}: no coordinator and no task there, only source partitions");
        await cluster.Cluster.StopSiloAsync(victim);
        await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 2 + 4, "4 more checkpoints");
        await FinishAndAssertNoRestartAsync(cluster, input, sink.Committed, coordinator);
    }

    private async Task FinishAndAssertNoRestartAsync(SluiceCluster cluster, OutOfOrderEventFeed input, Func<List<WindowResult>> results, ICheckpointCoordinatorGrain coordinator)
    {
        input.Append(rounds: 5);
        input.Source.CompleteAll();
        var expected = input.Oracle();
        await RecoveryScenario.WaitForAsync(() => results().Count >= expected.Count, TimeSpan.FromSeconds(60), $"{expected.Count} window results");
        var recovery = await coordinator.GetRecoveryAsync();
        var history = await coordinator.GetHistoryAsync();
        output.WriteLine(
            $"{cluster.SiloCount} silos; attempt {recovery.Attempt}, restarts {recovery.Restarts} ({recovery.LastRestartReason ?? "-"}), "
            + $"{recovery.SourceHandovers} source handovers, {RecoveryScenario.Completed(history)} checkpoints completed, "
            + $"{history.Count(c => c.State == CheckpointState.Failed)} failed ({string.Join("; ", history.Where(c => c.Failure is not null).Select(c => c.Failure).Distinct().Take(3))})");

        RecoveryScenario.AssertEqualsOracleExactly(expected, results(), output);
        Assert.Equal(0, recovery.Restarts);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>When <paramref name="armed"/>, the coordinator takes the first handover out, then its caller sees a failure instead of the answer.</summary>
    private sealed class LoseFirstHandoverAnswer(bool armed) : IIncomingGrainCallFilter
    {
        private int _lost;

        public int Lost => Volatile.Read(ref _lost);

        public async Task Invoke(IIncomingGrainCallContext context)
        {
            await context.Invoke();
            if (armed
                && context.InterfaceMethod?.Name == nameof(ICheckpointProtocolGrain.TakeOverSourceAsync)
                && context.Result is SourceTakeover { Handover: not null }
                && Interlocked.CompareExchange(ref _lost, 1, 0) == 0)
            {
                throw new TimeoutException("the takeover's answer was lost on its way back (injected)");
            }
        }
    }
}
