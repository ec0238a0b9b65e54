using Sluice.Grains;
using Sluice.State;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Sluice.Tests.Recovery;
using Sluice.Tests.State;
using Sluice.Time;
using Xunit.Abstractions;

namespace Sluice.Tests.ProcessFunctions;

/// <summary>
/// <see cref="TrackerFunction"/> on 2-3 checkpointed silos, one killed after a few checkpoints: the pipeline restarts
/// from its last checkpoint (state, event-time and processing-time timers, source positions) and what the exactly-once
/// sinks committed must equal <see cref="ProcessOracle"/> exactly, none twice. Late records are gated on committed
/// output only, which no restart can undo. Runs once per state backend; the seed is random per run and printed.
/// </summary>
public sealed class ProcessRecoveryPropertyTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-process-prop-").FullName;

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public async Task Keyed_process_function_with_a_silo_killed_mid_run_commits_exactly_the_oracle_output(StateBackend backend)
    {
        var seed = PropertySeeds.For(1)[0];
        var feed = ProcessFeed.Generate(seed, minPartitions: 2, late: true, slowPings: true);
        var silos = new Random(seed ^ 0x5170).Next(2, 4);
        var context = $"{silos} silos, one killed, {backend}, {feed}";
        output.WriteLine(context);
        var main = new CommittingSink<Tracked>("tracked", feed.SinkParallelism);
        var late = new CommittingSink<Event>("late", 1);
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos);
        var pipeline = Pipeline.Create("process-prop-killed", o =>
        {
            RecoveryScenario.Checkpointed(o);
            o.MaxParallelism = feed.MaxParallelism;
            o.BufferSize = feed.BufferSize;
            o.SourceBatchSize = feed.SourceBatchSize;
            o.WatermarkInterval = TimeSpan.FromMilliseconds(20);
            o.StateBackend = backend;
        });
        var tracked = pipeline.From(feed.Source)
            .WithTimestamps(e => e.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(feed.Bound)))
            .KeyBy(e => e.Key)
            .Process(feed.NewFunction, "tracker");
        tracked.SinkTo(main);
        tracked.SideOutput(TrackerFunction.Late).SinkTo(late);
        cluster.Register(pipeline);
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("process-prop-killed");

        await AppendUntilAsync(feed, main, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 3, "3 checkpoints before the kill", context);
        var victim = cluster.Cluster.SecondarySilos[^1];
        output.WriteLine($"  killing {victim.SiloAddress} after {RecoveryScenario.Completed(await coordinator.GetHistoryAsync())} checkpoints, "
            + $"{main.CommittedEpochs} epochs committed, {feed.OnTimeCount} on-time and {feed.LateCount} late records appended");
        await cluster.CrashSiloAsync(victim);
        await AppendUntilAsync(feed, main, async () => (await coordinator.GetRecoveryAsync()).RecoveryMilliseconds.Count > 0, "recovery (a checkpoint completed after the restart)", context, async () =>
        {
            var r = await coordinator.GetRecoveryAsync();
            var history = await coordinator.GetHistoryAsync();
            return $"attempt {r.Attempt}, restarts {r.Restarts} ({r.LastRestartReason ?? "-"}), restarting {r.Restarting}, failed {r.Failed}; "
                + $"checkpoints: {string.Join(", ", history.TakeLast(6).Select(c => $"{c.Id} {c.State} {c.Failure}"))}; "
                + SluiceCluster.Describe(await cluster.StatusAsync("process-prop-killed"));
        });
        for (var i = 0; i < 5; i++)
        {
            feed.AppendRound(perPartition: 20);
            feed.OpenGates(main.Committed());
            await Task.Delay(100);
        }

        feed.Flush();
        await WaitAsync(() => { feed.OpenGates(main.Committed()); return feed.AllGatesOpen; }, () => $"every bucket committed after the flush ({feed.Unopened})", context);
        var expected = feed.Oracle();
        if (!await TryWaitAsync(() => main.Committed().Count(v => v.Kind == "ping") >= expected.Pings))
        {
            ProcessOracle.AssertSameMultiset(expected.Main.Where(m => m.Value.Kind == "ping").Select(m => m.Value), main.Committed().Where(v => v.Kind == "ping"), $"committed pings after {Timeout}", context);
        }

        await Task.Delay(TimeSpan.FromMilliseconds((3 * feed.FallbackDelay) + 100));
        feed.Source.CompleteAll();
        // On a timeout the comparison below says what is missing.
        if (await TryWaitAsync(() => main.Committed().Count >= expected.Main.Count && late.Committed().Count >= expected.Late.Count))
        {
            await Task.Delay(500); // room for a duplicate to show up
        }
        var recovery = await coordinator.GetRecoveryAsync();
        output.WriteLine($"  attempt {recovery.Attempt}, restarts {recovery.Restarts} ({recovery.LastRestartReason}), restored from {recovery.RestoredFrom}; "
            + $"{feed.OnTimeCount} on-time and {feed.LateCount} late records, {expected.Main.Count} outputs, {main.CommittedEpochs} epochs committed");

        ProcessOracle.AssertSameMultiset(expected.Main.Select(m => m.Value), main.Committed(), "committed main output", context);
        ProcessOracle.AssertSameMultiset(expected.Late, late.Committed(), "committed late side output", context);
        Assert.True(recovery.Restarts >= 1, $"{context}: the dead silo should have restarted the pipeline");
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static async Task AppendUntilAsync(
        ProcessFeed feed, CommittingSink<Tracked> main, Func<Task<bool>> done, string what, string context, Func<Task<string>>? state = null)
    {
        for (var i = 0; i < 600; i++)
        {
            if (await done())
            {
                return;
            }

            feed.AppendRound(perPartition: 20);
            feed.OpenGates(main.Committed());
            await Task.Delay(100);
        }

        Assert.Fail($"{context}: {what} did not happen within 60 s{(state is null ? "" : $"; {await state()}")}");
    }

    private static async Task WaitAsync(Func<bool> condition, Func<string> what, string context)
    {
        if (!await TryWaitAsync(condition))
        {
            Assert.Fail($"{context}: waited {Timeout} for {what()}");
        }
    }

    private static async Task<bool> TryWaitAsync(Func<bool> condition)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            if (cts.IsCancellationRequested)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }
}
