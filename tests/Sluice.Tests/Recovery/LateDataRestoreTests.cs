using Sluice.Functions;
using Sluice.Grains;
using Sluice.Sources;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Xunit.Abstractions;

namespace Sluice.Tests.Recovery;

/// <summary>
/// Late data on both sides of a restore, against <see cref="LateDataOracle"/>: a random round-synchronized case
/// (<see cref="RoundFeeder"/>) with a partition that goes silent early (idle at the checkpoint, its watermark far behind)
/// and records behind the watermark in every round. After round 2 a checkpoint completes, a silo dies and the pipeline
/// restores; rounds 3-5 (late records again, appended while the restored key groups and the idle partition restart) follow.
/// The exactly-once sink's committed output must equal the oracle, each window once, at the oracle's firing watermark.
/// Seeds are random per run and printed; <c>SLUICE_PROPERTY_SEED=&lt;seed&gt;</c> replays a failure.
/// </summary>
public sealed class LateDataRestoreTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-late-restore-").FullName;

    [Fact]
    public async Task Late_records_before_and_after_a_restore_never_change_a_fired_window_and_no_window_is_committed_twice()
    {
        var seed = PropertySeeds.For(1)[0];
        // The first case from the seed on with a partition silent by round 2 (so idle at the checkpoint) and a good share of late records.
        var c = Enumerable.Range(0, 10_000)
            .Select(i => LateStreamCase.Generate(seed + i, rounds: 6, equalWatermarks: true, allowReturns: false, maxPartitions: 3))
            .First(x => x.LateFraction >= 0.2 && x.Rounds[2].Any(p => p.Count == 0));
        var id = $"late-restore-{Guid.NewGuid():N}";
        var context = $"restore, {c}";
        output.WriteLine(context);
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 2);
        var source = new InMemorySource<Event>("events", c.Partitions);
        var sink = new CommittingSink<FiredWindow>("committed");
        var pipeline = Pipeline.Create(id, o =>
        {
            RecoveryScenario.Checkpointed(o);
            o.MaxParallelism = 4;
            o.WatermarkInterval = TimeSpan.FromMilliseconds(20);
        });
        var aggregate = c.Kind == AggregateKind.Count ? Aggregates.Count<Event>() : Aggregates.Sum<Event>(e => e.Value);
        pipeline.From(source)
            .WithTimestamps(e => e.Ts, RoundFeeder.ExplicitWatermarksOnly)
            .KeyBy(e => e.Key)
            .Window(LateDataClusterPropertyTests.Assigner(c.Windows))
            .Aggregate(aggregate, new LateDataClusterPropertyTests.ReportFiringWatermark(), "late")
            .SinkTo(sink);
        cluster.Register(pipeline);
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>(id);

        var feeder = new RoundFeeder(c, source, keyGroups: 4);
        async Task AfterRound(int r)
        {
            if (r != 2)
            {
                return;
            }

            // Rounds 0-2 (and their late records) in a completed checkpoint, then a crash.
            var completed = RecoveryScenario.Completed(await coordinator.GetHistoryAsync());
            await RecoveryScenario.WaitForAsync(async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= completed + 2, Timeout, "two checkpoints after round 2");
            await cluster.CrashSiloAsync(cluster.Cluster.SecondarySilos[0]);
            await RecoveryScenario.WaitForAsync(async () => (await coordinator.GetRecoveryAsync()).Attempt >= 2, Timeout, "a restart");
        }

        await LateDataClusterPropertyTests.FeedAsync(
            feeder, c, sink.Committed, v => (v.Key, v.Start, v.End),
            () => cluster.WaitForStatusAsync(id, s => s.State == PipelineState.Finished, Timeout, "the pipeline finishing"),
            async () => SluiceCluster.Describe(await cluster.StatusAsync(id)), context, afterRound: AfterRound);

        var expected = LateDataOracle.Run(feeder.OracleInputs, c.Partitions, c.Windows, c.Kind);
        await RecoveryScenario.WaitForAsync(() => sink.Committed().Count >= expected.Fired.Count, Timeout, "every window committed");
        var committed = sink.Committed();
        var recovery = await coordinator.GetRecoveryAsync();
        var status = await cluster.StatusAsync(id);
        output.WriteLine($"attempt {recovery.Attempt}, restored checkpoint {recovery.RestoredFrom}; {committed.Count} committed, "
            + $"{expected.Dropped} dropped as late by the oracle, late counter {status.LateRecordsDropped}");
        Assert.True(recovery.Attempt >= 2, "the pipeline should have restarted");
        LateDataClusterPropertyTests.AssertNoneTwice(committed.Select(v => (v.Key, v.Start, v.End)), context);
        WindowOracle.AssertSameMultiset(expected.Fired.Select(f => f.Window).ToList(), committed, context);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
