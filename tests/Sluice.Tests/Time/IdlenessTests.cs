using Sluice.Functions;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Sluice.Time;
using Sluice.Windows;

namespace Sluice.Tests.Time;

/// <summary>
/// A task's watermark is the minimum over its non-idle inputs. A partition that is caught up and silent for
/// the idle timeout stops holding windows back; a partition that lags (has a backlog it has not read) is
/// never idle, however long it is silent, so windows wait for it (no FLIP-471 misfire).
/// </summary>
public sealed class IdlenessTests(OneSiloCluster fixture) : IClassFixture<OneSiloCluster>
{
    private const long WindowSize = 100;
    private const long Bound = 10;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Windows_close_without_end_of_input_once_a_partition_that_never_gets_data_is_idle()
    {
        var (id, source, sink) = Build("idle-partition");
        var appended = new List<Event>();

        // Partitions 0-2 keep receiving data (never idle), 10 ms of event time every 20 ms; partition 3 gets
        // nothing. Its watermark stays at long.MinValue, so only its idleness can let windows fire.
        using var feeding = new CancellationTokenSource(Timeout);
        for (var step = 0; sink.Count == 0 && !feeding.IsCancellationRequested; step++)
        {
            for (var p = 0; p < 3; p++)
            {
                var e = new Event($"k{(step + p) % 5}", step * 10, 1);
                source.Add(p, e, e.Ts);
                appended.Add(e);
            }

            await Task.Delay(20);
        }

        Assert.True(sink.Count > 0, $"No window fired within {Timeout} although partition 3 never received data; status: {SluiceCluster.Describe(await fixture.Cluster.StatusAsync(id))}");
        var status = await fixture.Cluster.WaitForStatusAsync(id, s => s.Sources.Any(p => p.Partition == 3 && p.Idle), Timeout, "partition 3 to be reported idle");
        Assert.All(status.Sources.Where(p => p.Partition == 3), p => Assert.Equal(0, p.RecordsRead));

        // What fired early is final: it must equal the oracle for those windows (all their records were on time).
        var expected = WindowOracle.Tumbling(appended, WindowSize, 0, AggregateKind.Count);
        // (Compared per key and window: another key group may not have fired the same window yet.)
        var fired = sink.Values.ToList();
        var firedWindows = fired.Select(r => (r.Key, r.End)).ToHashSet();
        WindowOracle.AssertSameMultiset(expected.Where(r => firedWindows.Contains((r.Key, r.End))).ToList(), fired, $"pipeline {id}, windows fired by idleness");

        source.CompleteAll();
        await sink.Completion.WaitAsync(Timeout);
        WindowOracle.AssertSameMultiset(expected, sink.Values, $"pipeline {id}, after end of input");
    }

    [Fact]
    public async Task Windows_stay_open_while_a_paused_partition_with_a_backlog_lags_then_include_its_records()
    {
        var (id, source, sink) = Build("lagging-partition");
        var records = new List<Event>();
        void Add(int partition, Event e)
        {
            source.Add(partition, e, e.Ts);
            records.Add(e);
        }

        // Partition 3 holds records for window [0, 100) but is paused: it lags, so it is never idle.
        source.Pause(3);
        for (var i = 0; i < 10; i++)
        {
            Add(3, new Event($"k{i % 3}", i * 9, 1));
        }

        // Partitions 0-2 go well past the end of [0, 100): their watermarks reach 1000 - 10 - 1 = 989, and then,
        // silent, they turn idle themselves.
        for (var p = 0; p < 3; p++)
        {
            for (var ts = 0L; ts <= 1000; ts += 25)
            {
                Add(p, new Event($"k{(ts / 25) % 4}", ts, 1));
            }
        }

        await fixture.Cluster.WaitForStatusAsync(
            id,
            s => s.Sources.Count(p => p.Partition < 3 && p.Watermark >= 1000 - Bound - 1) == 3
                 && s.Sources.Any(p => p.Partition == 3 && p.Backlog > 0 && !p.Idle),
            Timeout,
            "partitions 0-2 to pass the window end while partition 3 lags");

        // An absence check, not a timing threshold: give any wrong firing time to reach the sink.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var status = await fixture.Cluster.StatusAsync(id);
        Assert.True(
            sink.Count == 0,
            $"Windows fired while partition 3 lagged: {string.Join(" ", sink.Values.Take(10))}; status: {SluiceCluster.Describe(status)}");
        Assert.All(status.Sources.Where(p => p.Partition == 3), p => Assert.False(p.Idle, "a lagging partition must never be idle"));

        source.Resume(3);
        source.CompleteAll();
        await sink.Completion.WaitAsync(Timeout);
        WindowOracle.AssertSameMultiset(WindowOracle.Tumbling(records, WindowSize, 0, AggregateKind.Count), sink.Values, $"pipeline {id}");
        await fixture.Cluster.WaitForStatusAsync(id, s => s.LateRecordsDropped == 0 && s.State == Grains.PipelineState.Finished, Timeout, "finishing with no late record");
    }

    private (string Id, InMemorySource<Event> Source, CollectingSink<WindowResult> Sink) Build(string name)
    {
        var id = $"{name}-{Guid.NewGuid():N}";
        var source = new InMemorySource<Event>("events", 4);
        var sink = new CollectingSink<WindowResult>("results");
        var pipeline = Pipeline.Create(id, o => o.MaxParallelism = 4);
        pipeline.From(source)
            .WithTimestamps(
                e => e.Ts,
                WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(Bound)).WithIdleness(TimeSpan.FromMilliseconds(300)))
            .KeyBy(e => e.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(WindowSize)))
            .Aggregate(Aggregates.Count<Event>(), (key, w, count) => new WindowResult(key, w.Start, w.End, count))
            .SinkTo(sink);
        fixture.Cluster.Register(pipeline);
        return (id, source, sink);
    }
}
