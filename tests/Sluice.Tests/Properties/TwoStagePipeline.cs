using Sluice.Functions;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Tests.Infrastructure;
using Sluice.Time;
using Sluice.Windows;

namespace Sluice.Tests.Properties;

/// <summary>
/// The two-stage pipeline of the exchange and property tests: count per key per tumbling window, then
/// <c>KeyBy(window end)</c> into tumbling windows of the same size whose process function summarises each window
/// (total count and top three keys). Stage 1 -> stage 2 -> sink all go through the exchange (DeliverAsync).
/// </summary>
public sealed class TwoStagePipeline
{
    private TwoStagePipeline(StreamCase c, long size, int secondStageGroups, string id)
    {
        Case = c;
        Size = size;
        SecondStageGroups = secondStageGroups;
        Id = id;
        Source = new InMemorySource<Event>("events", c.Partitions);
        Sink = new CollectingSink<WindowSummary>("summaries", c.SinkParallelism);
        Pipeline = Pipeline.Create(id, o =>
        {
            o.MaxParallelism = c.MaxParallelism;
            o.BufferSize = c.BufferSize;
            o.SourceBatchSize = c.SourceBatchSize;
        });
        var window = TimeSpan.FromMilliseconds(size);
        Pipeline.From(Source)
            .WithTimestamps(e => e.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(c.Bound)))
            .KeyBy(e => e.Key)
            .Window(Tumbling.Of(window))
            .Aggregate(Aggregates.Count<Event>(), (key, w, count) => new WindowResult(key, w.Start, w.End, count), "count-per-key")
            .KeyBy(r => r.End, secondStageGroups)
            .Window(Tumbling.Of(window))
            .Process(new SummariseWindow(), "summarise")
            .SinkTo(Sink);
    }

    public string Id { get; }

    public StreamCase Case { get; }

    public long Size { get; }

    public int SecondStageGroups { get; }

    public InMemorySource<Event> Source { get; }

    public CollectingSink<WindowSummary> Sink { get; }

    public Pipeline Pipeline { get; }

    public List<WindowSummary> Expected => WindowOracle.Summaries(WindowOracle.Tumbling(Case.Records, Size, 0, AggregateKind.Count));

    /// <summary>A random case: the stream from <see cref="StreamCase"/>, a window size and the second stage's key groups.</summary>
    public static TwoStagePipeline Random(int seed, string idPrefix)
    {
        var rng = new Random(seed ^ 0x2574);
        var size = rng.NextInt64(10, 201);
        return new TwoStagePipeline(StreamCase.Generate(seed, size), size, rng.Next(1, 9), $"{idPrefix}-{Guid.NewGuid():N}");
    }

    /// <summary>Registers, feeds and waits for the end of input; fails with the status if it does not come.</summary>
    public async Task RunAsync(SluiceCluster cluster, TimeSpan timeout)
    {
        cluster.Register(Pipeline);
        await Case.FeedAsync(Source);
        try
        {
            await Sink.Completion.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{this}: the pipeline did not finish within {timeout}; status: {SluiceCluster.Describe(await cluster.StatusAsync(Id))}");
        }
    }

    public void AssertMatchesOracle() => WindowOracle.AssertSameMultiset(Expected, Sink.Values, ToString());

    public override string ToString() => $"two-stage tumbling {Size} ms, second stage {SecondStageGroups} key group(s), {Case}";

    /// <summary>Stage 2: one window of per-key counts in, its total and top three keys out.</summary>
    private sealed class SummariseWindow : IProcessWindowFunction<WindowResult, WindowSummary, long>
    {
        public void Process(long key, WindowContext context, IReadOnlyList<WindowResult> elements, ICollector<WindowSummary> output)
        {
            // Keyed by window end and windowed by the same size: every element must be from exactly this window.
            var stray = elements.FirstOrDefault(e => e.Start != context.Window.Start || e.End != context.Window.End || e.End != key);
            var top = stray == default ? WindowOracle.FormatTop3(elements) : $"stray element {stray} in window {context.Window} of key {key}";
            output.Collect(new WindowSummary(context.Window.Start, context.Window.End, elements.Sum(e => e.Value), top));
        }
    }
}
