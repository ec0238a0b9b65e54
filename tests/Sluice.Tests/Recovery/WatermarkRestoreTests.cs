using Sluice.Functions;
using Sluice.Grains;
using Sluice.Sources;
using Sluice.Tests.Properties;
using Sluice.Time;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.Recovery;

/// <summary>
/// Time never goes back across a restore. Partition 1 reads one early record and then goes idle, so partition 0 alone
/// drives the watermark past window [0, 100), which fires and is committed by a checkpoint. Records late for that window
/// are then dropped, and a silo dies: the pipeline restores the checkpoint and replays them. The restored key groups
/// and partition 1 (idle at the checkpoint) must keep the watermark where it was, so the late records stay late and
/// the window is not fired, and committed, a second time.
/// </summary>
public sealed class WatermarkRestoreTests(ITestOutputHelper output) : IDisposable
{
    private const string Id = "wm-restore";
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-wm-restore-").FullName;

    [Fact]
    public async Task Records_late_before_a_failure_are_still_late_after_the_restore_and_no_window_fires_twice()
    {
        var source = new InMemorySource<Event>("in", 2);
        var sink = new CommittingSink<WindowResult>("committed");
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 2);
        var pipeline = Pipeline.Create(Id, RecoveryScenario.Checkpointed);
        pipeline.From(source)
            .WithTimestamps(e => e.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.Zero).WithIdleness(TimeSpan.FromSeconds(2)))
            .KeyBy(e => e.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(100)))
            .Aggregate(Aggregates.Sum<Event>(e => e.Value), (key, window, sum) => new WindowResult(key, window.Start, window.End, sum), "sums")
            .SinkTo(sink);
        cluster.Register(pipeline);
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>(Id);

        var events = new List<Event> { new("b", 5, 1), new("a", 10, 2), new("a", 60, 3), new("a", 250, 4) };
        source.Add(1, events[0], events[0].Ts);
        foreach (var e in events.Skip(1))
        {
            source.Add(0, e, e.Ts);
        }

        // Partition 0 stays active (a record at 250 every 100 ms keeps its watermark at 249); partition 1 idles, so the
        // watermark reaches 249 and window [0, 100) fires for a and b.
        using var stopTicking = new CancellationTokenSource();
        var ticks = TickAsync(source, events, stopTicking.Token);
        await cluster.WaitForStatusAsync(Id, s => s.RecordsOut >= 2, TimeSpan.FromSeconds(30), "window [0, 100) firing");
        await RecoveryScenario.WaitForAsync(() => sink.CommittedEpochs >= 1, TimeSpan.FromSeconds(30), "the fired windows committed");

        // Late for [0, 100): dropped. Explicit watermarks split them into separate reads and batches.
        AppendLate(source, events, firstTs: 50);
        await cluster.WaitForStatusAsync(Id, s => s.LateRecordsDropped >= 5, TimeSpan.FromSeconds(30), "the late records dropped");
        var completed = RecoveryScenario.Completed(await coordinator.GetHistoryAsync());
        await RecoveryScenario.WaitForAsync(async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) > completed, TimeSpan.FromSeconds(30), "a checkpoint after the late records");

        // Restore: partition 1 was idle at the checkpoint with watermark 4, partition 0 and the key groups at 249. More
        // late records arrive while partition 1 would count as active again (for its 2 s idle timeout) if it were not
        // restored idle, and while the key groups' inputs start from scratch.
        await cluster.CrashSiloAsync(cluster.Cluster.SecondarySilos[0]);
        await RecoveryScenario.WaitForAsync(async () => (await coordinator.GetRecoveryAsync()).Attempt >= 2, TimeSpan.FromSeconds(30), "a restart");
        for (var i = 0; i < 5; i++)
        {
            AppendLate(source, events, firstTs: 70 + (5 * i));
            await Task.Delay(300);
        }
        await cluster.WaitForStatusAsync(Id, s => s.Recovery?.Attempt >= 2 && s.Stages[0].Watermark >= 249, TimeSpan.FromSeconds(30), "the restored watermark");
        await Task.Delay(2500); // past partition 1's idle timeout: a window that wrongly took a late record fires now

        await stopTicking.CancelAsync();
        await ticks;
        source.Add(0, new Event("a", 420, 5), 420);
        source.CompleteAll();
        events.Add(new Event("a", 420, 5));
        var expected = WindowOracle.Tumbling(events, 100, 0, AggregateKind.Sum).ToDictionary(r => (r.Key, r.Start, r.End), r => r.Value);
        await cluster.WaitForStatusAsync(Id, s => s.State == PipelineState.Finished, TimeSpan.FromSeconds(30), "the pipeline finishing");
        for (var i = 0; i < 100 && sink.Committed().Count < expected.Count; i++)
        {
            await Task.Delay(100);
        }

        var recovery = await coordinator.GetRecoveryAsync();
        output.WriteLine($"attempt {recovery.Attempt} restored checkpoint {recovery.RestoredFrom}: {string.Join(", ", sink.Committed())}");
        RecoveryScenario.AssertEqualsOracleExactly(expected, sink.Committed(), output);
    }

    private static void AppendLate(InMemorySource<Event> source, List<Event> events, long firstTs)
    {
        lock (events)
        {
            for (var i = 0; i < 5; i++)
            {
                source.Add(0, new Event("a", firstTs + i, 10), firstTs + i);
                source.AddWatermark(0, 249);
            }
        }
    }

    private static async Task TickAsync(InMemorySource<Event> source, List<Event> events, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var tick = new Event("t", 250, 1);
            lock (events)
            {
                events.Add(tick);
                source.Add(0, tick, tick.Ts);
            }

            try
            {
                await Task.Delay(100, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
