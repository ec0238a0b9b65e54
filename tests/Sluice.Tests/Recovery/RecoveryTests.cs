using Orleans.Configuration;
using Sluice.Functions;
using Sluice.Grains;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Storage;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Sluice.Time;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.Recovery;

/// <summary>
/// Global restart from the last complete checkpoint on real in-process silos: a killed silo, a corrupted
/// snapshot blob, state of another schema. Results are compared with the brute-force oracle.
/// </summary>
public sealed class RecoveryTests(ITestOutputHelper output) : IDisposable
{
    private const int Partitions = 4;
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-recovery-").FullName;

    [Fact]
    public async Task A_killed_silo_restarts_the_pipeline_and_the_committed_output_equals_the_oracle_exactly()
    {
        var input = new OutOfOrderEventFeed(seed: 5, partitions: Partitions);
        var sink = new CommittingSink<WindowResult>("committed", parallelism: 2);
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 3);
        cluster.Register(RecoveryScenario.Define("killed", input.Source, sink));
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("killed");
        await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 3, "3 checkpoints before the kill");

        var victim = cluster.Cluster.SecondarySilos[^1];
        output.WriteLine($"killing {victim.SiloAddress} after {RecoveryScenario.Completed(await coordinator.GetHistoryAsync())} checkpoints, {sink.CommittedEpochs} epochs committed");
        await cluster.CrashSiloAsync(victim);
        await RecoveryScenario.AppendUntilAsync(input, async () => (await coordinator.GetRecoveryAsync()).RecoveryMilliseconds.Count > 0, "recovery (a checkpoint completed after the restart)");

        input.Append(rounds: 5);
        input.Source.CompleteAll();
        var expected = input.Oracle();
        await RecoveryScenario.WaitForAsync(() => sink.Committed().Count >= expected.Count, TimeSpan.FromSeconds(60), $"{expected.Count} committed window results");
        var recovery = await coordinator.GetRecoveryAsync();
        output.WriteLine($"attempt {recovery.Attempt}, restarts {recovery.Restarts} ({recovery.LastRestartReason}), restored from {recovery.RestoredFrom}, recovery ms [{string.Join(", ", recovery.RecoveryMilliseconds)}]");

        RecoveryScenario.AssertEqualsOracleExactly(expected, sink.Committed(), output);
        Assert.True(recovery.Restarts >= 1, "the dead silo should have restarted the pipeline");
        Assert.True(recovery.Attempt >= 2);
    }

    [Fact]
    public async Task Past_the_restart_limit_the_pipeline_is_FAILED_with_the_last_failure_in_the_API()
    {
        var input = new OutOfOrderEventFeed(seed: 7, partitions: Partitions);
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 2);
        cluster.Register(RecoveryScenario.Define("limited", input.Source, new CollectingSink<WindowResult>("out"), o => o.Restart.MaxRestarts = 0));
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("limited");
        await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 1, "a checkpoint");

        await cluster.CrashSiloAsync(cluster.Cluster.SecondarySilos[0]);
        var status = await cluster.WaitForStatusAsync("limited", s => s.State == PipelineState.Failed, TimeSpan.FromSeconds(60), "FAILED");
        output.WriteLine(status.Recovery!.FailureReason);
        Assert.StartsWith("0 restarts in a row", status.Recovery.FailureReason, StringComparison.Ordinal);
        Assert.Equal(status.Recovery.FailureReason, status.LastError);
    }

    [Theory]
    [InlineData(1, 500)]
    [InlineData(2, 1_000)]
    [InlineData(4, 4_000)]
    [InlineData(20, 30_000)]
    public void Restart_backoff_doubles_from_the_initial_delay_up_to_the_maximum(int restartInRow, int expectedMilliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMilliseconds), new RestartStrategyOptions().BackoffBefore(restartInRow));

    [Fact]
    public async Task A_corrupted_snapshot_blob_is_detected_and_the_previous_checkpoint_is_restored()
    {
        var input = new OutOfOrderEventFeed(seed: 9, partitions: Partitions);
        var first = new CollectingSink<WindowResult>("first");
        long newest;
        await using (var cluster = await RecoveryScenario.StartAsync(_root, silos: 1))
        {
            cluster.Register(RecoveryScenario.Define("corrupted", input.Source, first));
            var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("corrupted");
            await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 3, "3 checkpoints");
        }

        // Flip the last payload byte of every task blob the newest complete checkpoint names. A task whose state did not
        // change since an earlier checkpoint names that checkpoint's blob, so the blobs may lie in older folders, and every
        // checkpoint naming one of them is unrestorable too.
        newest = Directory.GetDirectories(Path.Combine(_root, "corrupted"), "chk-*")
            .Where(d => File.Exists(Path.Combine(d, "_metadata")))
            .Max(d => long.Parse(Path.GetFileName(d)["chk-".Length..], System.Globalization.CultureInfo.InvariantCulture));
        var metadata = System.Text.Json.JsonSerializer.Deserialize(
            await File.ReadAllBytesAsync(Path.Combine(_root, "corrupted", $"chk-{newest}", "_metadata")), Sluice.Checkpointing.CheckpointJson.Default.CheckpointMetadata)!;
        var blobs = metadata.Tasks.Select(t => t.BlobPath).OfType<string>().Distinct().ToList();
        var corrupted = 0;
        foreach (var blob in blobs)
        {
            var file = Path.Combine(_root, blob);
            var bytes = await File.ReadAllBytesAsync(file);
            bytes[^1] ^= 0x5A;
            await File.WriteAllBytesAsync(file, bytes);
            corrupted++;
        }

        var oldestCorrupted = blobs.Min(b => Sluice.Checkpointing.CheckpointCatalog.TryParseId(b, out var id) ? id : newest);
        Assert.True(corrupted > 0, $"checkpoint {newest} should hold task blobs");
        var second = new CollectingSink<WindowResult>("second");
        await using (var cluster = await RecoveryScenario.StartAsync(_root, silos: 1))
        {
            cluster.Register(RecoveryScenario.Define("corrupted", input.Source, second));
            input.Append(rounds: 10);
            input.Source.CompleteAll();
            await second.Completion.WaitAsync(TimeSpan.FromSeconds(60));
            var recovery = await cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("corrupted").GetRecoveryAsync();
            // A task of the first attempt found the blob corrupted and ran nothing more; the second attempt restored the checkpoint before.
            output.WriteLine($"corrupted checkpoint {newest}; attempt {recovery.Attempt} restored from {recovery.RestoredFrom}: {recovery.LastRestartReason}");
            Assert.True(recovery.RestoredFrom < oldestCorrupted && (recovery.RestoredFrom > 0 || oldestCorrupted == 1),
                $"should restore from a checkpoint before {oldestCorrupted} (the oldest holding a corrupted blob), restored from {recovery.RestoredFrom}");
            Assert.Equal(1, recovery.Restarts); // one restart however many checkpoints name the corrupted blobs
            Assert.Contains("checksum", recovery.LastRestartReason, StringComparison.OrdinalIgnoreCase);
        }

        // At-least-once sinks: windows may be emitted twice across the clusters, but every one is right and none is missing.
        var emitted = first.Values.Concat(second.Values).ToList();
        RecoveryScenario.AssertRightAndComplete(input.Oracle(), emitted, emitted);
    }

    [Fact]
    public async Task State_of_another_schema_is_refused_and_the_pipeline_is_FAILED_with_the_reason()
    {
        var input = new OutOfOrderEventFeed(seed: 13, partitions: Partitions);
        await using (var cluster = await RecoveryScenario.StartAsync(_root, silos: 1))
        {
            cluster.Register(RecoveryScenario.Define("schema", input.Source, new CollectingSink<WindowResult>("sums")));
            var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("schema");
            await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 1, "a checkpoint");
        }

        // The same pipeline id, now averaging: its window state has another accumulator type.
        await using (var cluster = await RecoveryScenario.StartAsync(_root, silos: 1))
        {
            var pipeline = Pipeline.Create("schema", RecoveryScenario.Checkpointed);
            pipeline.From(input.Source)
                .WithTimestamps(e => e.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(40)))
                .KeyBy(e => e.Key)
                .Window(Tumbling.Of(TimeSpan.FromMilliseconds(100)))
                .Aggregate(new MeanAggregate(), (key, window, mean) => new WindowResult(key, window.Start, window.End, mean), "sums")
                .SinkTo(new CollectingSink<WindowResult>("means"));
            cluster.Register(pipeline);
            input.Append(rounds: 2);
            var status = await cluster.WaitForStatusAsync("schema", s => s.State == PipelineState.Failed, TimeSpan.FromSeconds(30), "FAILED");
            output.WriteLine(status.Recovery?.FailureReason);
            Assert.Contains("schema", status.Recovery!.FailureReason, StringComparison.Ordinal);
            Assert.Contains("acc:System.Double", status.LastError, StringComparison.Ordinal);
        }
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>An averaging aggregate: a different accumulator type than the sum's, so its state has another schema.</summary>
    private sealed class MeanAggregate : IAggregateFunction<Event, double, long>
    {
        public double CreateAccumulator() => 0;

        public double Add(Event value, double accumulator) => accumulator + value.Value;

        public long GetResult(double accumulator) => (long)accumulator;

        public double Merge(double a, double b) => a + b;
    }
}
