using Sluice.Functions;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Tests.Infrastructure;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.Properties;

/// <summary>
/// Late data through a real cluster, round-synchronized (<see cref="RoundFeeder"/>) so <see cref="LateDataOracle"/> is
/// exact: random partitions (some going silent, so idle), key groups, batch sizes, tumbling or sliding windows, count or
/// sum, records behind the watermark. Checked: every window fires exactly once with the oracle's value and at the oracle's
/// watermark (the window function reports it); no result appears before the round whose watermark fires it was appended;
/// the pipeline's late counter equals the oracle's dropped records. A two-stage case re-keys the per-key counts by window
/// and summarises them in a second window stage. Seeds are random per run and printed; <c>SLUICE_PROPERTY_SEED=&lt;seed&gt;</c>
/// replays a failure.
/// </summary>
public abstract class LateDataClusterPropertyTests(ClusterFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    protected abstract int Cases { get; }

    [Fact]
    public async Task Windows_with_late_records_match_the_oracle_exactly_round_by_round()
    {
        foreach (var seed in PropertySeeds.For(Cases))
        {
            var c = LateStreamCase.Generate(seed, rounds: 4, equalWatermarks: true, allowReturns: false, maxPartitions: 3);
            var rng = new Random(seed ^ 0xc105);
            var keyGroups = rng.Next(1, 7);
            var id = $"late-{Guid.NewGuid():N}";
            var context = $"{fixture.Silos} silo(s), {keyGroups} key group(s), {c}";
            output.WriteLine(context);
            var source = new InMemorySource<Event>("events", c.Partitions);
            var sink = new CollectingSink<FiredWindow>("fired", rng.Next(1, 3));
            var pipeline = Pipeline.Create(id, o =>
            {
                o.MaxParallelism = keyGroups;
                o.BufferSize = rng.Next(2) == 0 ? rng.Next(1, 8) : 1_000;
                o.SourceBatchSize = rng.Next(2) == 0 ? rng.Next(1, 16) : 4_096;
                o.WatermarkInterval = TimeSpan.FromMilliseconds(20);
            });
            var aggregate = c.Kind == AggregateKind.Count ? Aggregates.Count<Event>() : Aggregates.Sum<Event>(e => e.Value);
            pipeline.From(source)
                .WithTimestamps(e => e.Ts, RoundFeeder.ExplicitWatermarksOnly)
                .KeyBy(e => e.Key)
                .Window(Assigner(c.Windows))
                .Aggregate(aggregate, new ReportFiringWatermark(), "late")
                .SinkTo(sink);
            fixture.Cluster.Register(pipeline);

            var feeder = new RoundFeeder(c, source, keyGroups);
            await FeedAsync(feeder, c, () => sink.Values, v => (v.Key, v.Start, v.End), () => sink.Completion, Status(id), context);

            var expected = LateDataOracle.Run(feeder.OracleInputs, c.Partitions, c.Windows, c.Kind);
            var values = sink.Values;
            WindowOracle.AssertSameMultiset(expected.Fired.Select(f => f.Window).ToList(), values.ToList(), context);
            AssertNoneTwice(values.Select(v => (v.Key, v.Start, v.End)), context);
            var roundOf = expected.Fired.ToDictionary(f => (f.Window.Key, f.Window.Start, f.Window.End), f => feeder.RoundOf(f.FiredAt));
            AssertNotBeforeTheirRound(values.Select(v => roundOf[(v.Key, v.Start, v.End)]).ToList(), feeder, context);
            await fixture.Cluster.WaitForStatusAsync(id, s => s.LateRecordsDropped == expected.Dropped, Timeout, $"{context}: late counter = oracle's {expected.Dropped}");
            output.WriteLine($"  {values.Count} windows, {expected.Dropped} dropped as late, {expected.PartlyLate} (record, window) pairs late");
        }
    }

    [Fact]
    public async Task A_second_window_stage_after_late_records_matches_the_oracle_exactly()
    {
        foreach (var seed in PropertySeeds.For(Cases))
        {
            var c = LateStreamCase.Generate(seed, rounds: 4, equalWatermarks: true, allowReturns: false, maxPartitions: 3, tumblingOnly: true);
            var rng = new Random(seed ^ 0x2574);
            var keyGroups = rng.Next(1, 7);
            var id = $"late2-{Guid.NewGuid():N}";
            var context = $"two-stage, {fixture.Silos} silo(s), {keyGroups} key group(s), {c}";
            output.WriteLine(context);
            var source = new InMemorySource<Event>("events", c.Partitions);
            var sink = new CollectingSink<WindowSummary>("summaries", rng.Next(1, 3));
            var pipeline = Pipeline.Create(id, o =>
            {
                o.MaxParallelism = keyGroups;
                o.BufferSize = rng.Next(2) == 0 ? rng.Next(1, 8) : 1_000;
                o.WatermarkInterval = TimeSpan.FromMilliseconds(20);
                o.ExchangeWatermarkInterval = TimeSpan.FromMilliseconds(20);
            });
            var size = TimeSpan.FromMilliseconds(c.Windows.Size);
            var offset = TimeSpan.FromMilliseconds(c.Windows.Offset);
            pipeline.From(source)
                .WithTimestamps(e => e.Ts, RoundFeeder.ExplicitWatermarksOnly)
                .KeyBy(e => e.Key)
                .Window(Tumbling.Of(size, offset))
                .Aggregate(Aggregates.Count<Event>(), (key, w, n) => new WindowResult(key, w.Start, w.End, n), "count-per-key")
                .KeyBy(r => r.End, rng.Next(1, 5))
                .Window(Tumbling.Of(size, offset))
                .Process(new Summarise(), "summarise")
                .SinkTo(sink);
            fixture.Cluster.Register(pipeline);

            var feeder = new RoundFeeder(c, source, keyGroups);
            await FeedAsync(feeder, c, () => sink.Values, v => ("", v.Start, v.End), () => sink.Completion, Status(id), context, sentinelKey: "");

            var expected = LateDataOracle.Run(feeder.OracleInputs, c.Partitions, c.Windows, AggregateKind.Count);
            var perKey = expected.Fired.Select(f => new WindowResult(f.Window.Key, f.Window.Start, f.Window.End, f.Window.Value));
            WindowOracle.AssertSameMultiset(WindowOracle.Summaries(perKey), sink.Values.ToList(), context);
            await fixture.Cluster.WaitForStatusAsync(id, s => s.LateRecordsDropped == expected.Dropped, Timeout, $"{context}: late counter = oracle's {expected.Dropped} (stage 2 drops none)");
        }
    }

    private Func<Task<string>> Status(string id) => async () => SluiceCluster.Describe(await fixture.Cluster.StatusAsync(id));

    internal static WindowAssigner Assigner(WindowSpec w) => w.Size == w.Slide
        ? Tumbling.Of(TimeSpan.FromMilliseconds(w.Size), TimeSpan.FromMilliseconds(w.Offset))
        : Sliding.Of(TimeSpan.FromMilliseconds(w.Size), TimeSpan.FromMilliseconds(w.Slide), TimeSpan.FromMilliseconds(w.Offset));

    /// <summary>
    /// Appends every round, waiting for its sentinel windows (every key group, or one result when <paramref name="sentinelKey"/>
    /// is given) and then for <paramref name="afterRound"/>, then ends the input and waits for <paramref name="completion"/>.
    /// </summary>
    internal static async Task FeedAsync<T>(
        RoundFeeder feeder, LateStreamCase c, Func<IReadOnlyList<T>> results, Func<T, (string Key, long Start, long End)> window,
        Func<Task> completion, Func<Task<string>> status, string context, string? sentinelKey = null, Func<int, Task>? afterRound = null)
    {
        for (var r = 0; r < c.Rounds.Count; r++)
        {
            feeder.AppendRound(r, results().Count);
            var (start, end) = feeder.SentinelWindow(r);
            var wanted = sentinelKey is null ? feeder.SentinelKeys : [sentinelKey];
            using var cts = new CancellationTokenSource(Timeout);
            while (!wanted.All(k => results().Any(v => window(v) == (k, start, end))))
            {
                if (cts.IsCancellationRequested)
                {
                    Assert.Fail($"{context}: round {r}'s sentinel windows [{start}, {end}) did not fire within {Timeout}; {await status()}");
                }

                await Task.Delay(10);
            }

            if (afterRound is not null)
            {
                await afterRound(r);
            }
        }

        feeder.SeenBeforeRound.Add(results().Count);
        feeder.Complete();
        try
        {
            await completion().WaitAsync(Timeout);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{context}: the pipeline did not finish within {Timeout}; {await status()}");
        }
    }

    internal static void AssertNoneTwice(IEnumerable<(string Key, long Start, long End)> windows, string context)
    {
        var twice = windows.GroupBy(w => w).Where(g => g.Count() > 1).Select(g => g.Key).Take(5).ToList();
        Assert.True(twice.Count == 0, $"{context}: windows emitted more than once: {string.Join(" ", twice)}");
    }

    /// <summary>The result at sink position j fired in round <c>rounds[j]</c>: it must not be there before that round was appended.</summary>
    internal static void AssertNotBeforeTheirRound(IReadOnlyList<int> rounds, RoundFeeder feeder, string context)
    {
        for (var j = 0; j < rounds.Count; j++)
        {
            var firstRoundAfter = feeder.SeenBeforeRound.FindIndex(seen => seen > j);
            Assert.True(
                firstRoundAfter < 0 || rounds[j] < firstRoundAfter,
                $"{context}: result #{j} fires in round {rounds[j]} but was in the sink before round {firstRoundAfter} was appended");
        }
    }

    /// <summary>Each window's aggregate with the watermark the window fired at.</summary>
    internal sealed class ReportFiringWatermark : IProcessWindowFunction<long, FiredWindow, string>
    {
        public void Process(string key, WindowContext context, IReadOnlyList<long> elements, ICollector<FiredWindow> output) =>
            output.Collect(new FiredWindow(key, context.Window.Start, context.Window.End, elements.Single(), context.CurrentWatermark));
    }

    private sealed class Summarise : IProcessWindowFunction<WindowResult, WindowSummary, long>
    {
        public void Process(long key, WindowContext context, IReadOnlyList<WindowResult> elements, ICollector<WindowSummary> output) =>
            output.Collect(new WindowSummary(context.Window.Start, context.Window.End, elements.Sum(e => e.Value), WindowOracle.FormatTop3(elements)));
    }
}

public sealed class Late_data_on_one_silo(OneSiloCluster fixture, ITestOutputHelper output)
    : LateDataClusterPropertyTests(fixture, output), IClassFixture<OneSiloCluster>
{
    protected override int Cases => 3;
}

public sealed class Late_data_on_three_silos(ThreeSiloCluster fixture, ITestOutputHelper output)
    : LateDataClusterPropertyTests(fixture, output), IClassFixture<ThreeSiloCluster>
{
    protected override int Cases => 2;
}
