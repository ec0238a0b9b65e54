using Sluice.Functions;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Sluice.Time;
using Sluice.Windows;

namespace Sluice.Tests.Time;

/// <summary>
/// Records that arrive after the watermark has passed all their windows (further behind than the
/// out-of-orderness bound) are dropped and counted, and never change a window that has already fired.
/// </summary>
public sealed class LateRecordTests(TwoSiloCluster fixture) : IClassFixture<TwoSiloCluster>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Records_behind_the_watermark_are_dropped_and_do_not_change_their_closed_window()
    {
        var (id, source, sink) = Build("late-tumbling", Tumbling.Of(TimeSpan.FromMilliseconds(100)), partitions: 2);
        // Phase 1: window [0, 100) for a, b, c; then both partitions move to 300, so the watermark is
        // 300 - 10 - 1 = 289 and [0, 100) fires.
        Event[] phase1P0 = [new("a", 10, 1), new("b", 20, 1), new("a", 50, 1), new("a", 95, 1), new("x", 300, 1)];
        Event[] phase1P1 = [new("b", 30, 1), new("c", 99, 1), new("a", 5, 1), new("x", 300, 1)];
        AddAll(source, 0, phase1P0);
        AddAll(source, 1, phase1P1);
        await WaitForResultsAsync(sink, r => r.End == 100, count: 3, "window [0, 100) to fire for a, b and c");

        // Far behind the watermark (289): every window of these records has closed.
        Event[] late = [new("a", 50, 1), new("c", 1, 1)];
        source.Add(0, late[0], late[0].Ts);
        source.Add(1, late[1], late[1].Ts);
        Event[] phase2P0 = [new("a", 310, 1), new("b", 405, 1)];
        Event[] phase2P1 = [new("a", 350, 1)];
        AddAll(source, 0, phase2P0);
        AddAll(source, 1, phase2P1);
        source.CompleteAll();
        await sink.Completion.WaitAsync(Timeout);

        var phase1 = phase1P0.Concat(phase1P1).ToList();
        var onTime = phase1.Concat(phase2P0).Concat(phase2P1).ToList();
        var context = $"pipeline {id}";
        WindowOracle.AssertSameMultiset(
            WindowOracle.Tumbling(phase1, 100, 0, AggregateKind.Count).Where(r => r.End == 100).ToList(),
            sink.Values.Where(r => r.End == 100).ToList(),
            $"{context}, closed window [0, 100)");
        WindowOracle.AssertSameMultiset(WindowOracle.Tumbling(onTime, 100, 0, AggregateKind.Count), sink.Values, $"{context}, all windows");
        await fixture.Cluster.WaitForStatusAsync(id, s => s.LateRecordsDropped == late.Length, Timeout, $"counting {late.Length} late records");
    }

    [Fact]
    public async Task A_record_late_for_only_some_of_its_sliding_windows_counts_in_the_open_ones_and_is_not_dropped()
    {
        var (id, source, sink) = Build(
            "late-sliding", Sliding.Of(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(50)), partitions: 1);
        // Phase 1 ends at 160: watermark 160 - 10 - 1 = 149 closes [-50, 50), [0, 100) and [50, 150).
        Event[] phase1 = [new("a", 10, 1), new("a", 60, 1), new("a", 160, 1)];
        AddAll(source, 0, phase1);
        await WaitForResultsAsync(sink, r => r.End == 150, count: 1, "window [50, 150) to fire");

        // 120 belongs to [50, 150) (closed) and [100, 200) (open): counted in the open one only, not dropped.
        // 40 belongs to [-50, 50) and [0, 100), both closed: dropped.
        Event partlyLate = new("a", 120, 1);
        Event late = new("a", 40, 1);
        source.Add(0, partlyLate, partlyLate.Ts);
        source.Add(0, late, late.Ts);
        source.CompleteAll();
        await sink.Completion.WaitAsync(Timeout);

        static bool Closed(WindowResult r) => r.End - 1 <= 149;
        var expected = WindowOracle.Sliding(phase1, 100, 50, 0, AggregateKind.Count).Where(Closed)
            .Concat(WindowOracle.Sliding([.. phase1, partlyLate], 100, 50, 0, AggregateKind.Count).Where(r => !Closed(r)))
            .ToList();
        WindowOracle.AssertSameMultiset(expected, sink.Values, $"pipeline {id}");
        Assert.Contains(new WindowResult("a", 100, 200, 2), sink.Values);
        await fixture.Cluster.WaitForStatusAsync(id, s => s.LateRecordsDropped == 1, Timeout, "counting exactly one late record");
    }

    private (string Id, InMemorySource<Event> Source, CollectingSink<WindowResult> Sink) Build(string name, WindowAssigner windows, int partitions)
    {
        var id = $"{name}-{Guid.NewGuid():N}";
        var source = new InMemorySource<Event>("events", partitions);
        var sink = new CollectingSink<WindowResult>("results");
        var pipeline = Pipeline.Create(id, o => o.MaxParallelism = 4);
        pipeline.From(source)
            .WithTimestamps(e => e.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(10)))
            .KeyBy(e => e.Key)
            .Window(windows)
            .Aggregate(Aggregates.Count<Event>(), (key, w, count) => new WindowResult(key, w.Start, w.End, count))
            .SinkTo(sink);
        fixture.Cluster.Register(pipeline);
        return (id, source, sink);
    }

    private static void AddAll(InMemorySource<Event> source, int partition, IEnumerable<Event> events)
    {
        foreach (var e in events)
        {
            source.Add(partition, e, e.Ts);
        }
    }

    private static async Task WaitForResultsAsync(CollectingSink<WindowResult> sink, Func<WindowResult, bool> match, int count, string what)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (sink.Values.Count(match) < count)
        {
            if (cts.IsCancellationRequested)
            {
                Assert.Fail($"Waited {Timeout} for {what}; the sink has {string.Join(" ", sink.Values)}");
            }

            await Task.Delay(20);
        }
    }
}
