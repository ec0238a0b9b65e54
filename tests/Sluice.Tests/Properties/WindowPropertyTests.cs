using Sluice.Functions;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Tests.Infrastructure;
using Sluice.Time;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.Properties;

/// <summary>
/// Keyed tumbling and sliding windows (count and sum) compared exactly with <see cref="WindowOracle"/> on random
/// out-of-order streams: random keys, partitions, timestamps within the bound, explicit watermarks and batch
/// boundaries. Runs once per cluster size (the derived classes), since key groups and source queues are
/// spread over the silos. Every record is within the out-of-orderness bound, so none may be dropped.
/// </summary>
public abstract class WindowPropertyTests(ClusterFixture fixture, ITestOutputHelper output)
{
    private const int Cases = 12;

    [Fact]
    public async Task Tumbling_windows_match_the_oracle_on_random_out_of_order_streams()
    {
        foreach (var seed in PropertySeeds.For(Cases))
        {
            var rng = new Random(seed ^ 0x7a11);
            var size = rng.NextInt64(5, 201);
            var offset = rng.Next(2) == 0 ? 0 : rng.NextInt64(-size + 1, size);
            var kind = rng.Next(2) == 0 ? AggregateKind.Count : AggregateKind.Sum;
            var c = StreamCase.Generate(seed, size);
            await RunAsync(
                c,
                Tumbling.Of(TimeSpan.FromMilliseconds(size), TimeSpan.FromMilliseconds(offset)),
                kind,
                WindowOracle.Tumbling(c.Records, size, offset, kind),
                $"tumbling {size} ms offset {offset} {kind}");
        }
    }

    [Fact]
    public async Task Sliding_windows_match_the_oracle_on_random_out_of_order_streams()
    {
        foreach (var seed in PropertySeeds.For(Cases))
        {
            var rng = new Random(seed ^ 0x511d);
            var size = rng.NextInt64(10, 201);
            // At most ~10 windows per record; now and then a slide longer than the size (gaps between windows).
            var slide = rng.Next(8) == 0 ? rng.NextInt64(size + 1, 2 * size) : rng.NextInt64(Math.Max(1, size / 10), size + 1);
            var offset = rng.Next(2) == 0 ? 0 : rng.NextInt64(-slide + 1, slide);
            var kind = rng.Next(2) == 0 ? AggregateKind.Count : AggregateKind.Sum;
            var c = StreamCase.Generate(seed, size);
            await RunAsync(
                c,
                Sliding.Of(TimeSpan.FromMilliseconds(size), TimeSpan.FromMilliseconds(slide), TimeSpan.FromMilliseconds(offset)),
                kind,
                WindowOracle.Sliding(c.Records, size, slide, offset, kind),
                $"sliding {size} ms every {slide} ms offset {offset} {kind}");
        }
    }

    private async Task RunAsync(StreamCase c, WindowAssigner assigner, AggregateKind kind, List<WindowResult> expected, string windows)
    {
        var context = $"{fixture.Silos} silo(s), {windows}, {c}";
        output.WriteLine(context);
        var id = $"prop-{Guid.NewGuid():N}";
        var source = new InMemorySource<Event>("events", c.Partitions);
        var sink = new CollectingSink<WindowResult>("results", c.SinkParallelism);
        var pipeline = Pipeline.Create(id, o =>
        {
            o.MaxParallelism = c.MaxParallelism;
            o.BufferSize = c.BufferSize;
            o.SourceBatchSize = c.SourceBatchSize;
        });
        var aggregate = kind == AggregateKind.Count ? Aggregates.Count<Event>() : Aggregates.Sum<Event>(e => e.Value);
        pipeline.From(source)
            .WithTimestamps(e => e.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(c.Bound)))
            .KeyBy(e => e.Key)
            .Window(assigner)
            .Aggregate(aggregate, (key, window, value) => new WindowResult(key, window.Start, window.End, value))
            .SinkTo(sink);
        fixture.Cluster.Register(pipeline);

        await c.FeedAsync(source);
        await WaitForCompletionAsync(sink.Completion, id, context);

        WindowOracle.AssertSameMultiset(expected, sink.Values, context);
        var badTimestamps = sink.Records.Where(r => r.Timestamp != r.Value.End - 1).Take(5).ToList();
        Assert.True(badTimestamps.Count == 0, $"{context}: window results must carry timestamp end - 1; got {string.Join(" ", badTimestamps)}");
    }

    private async Task WaitForCompletionAsync(Task completion, string id, string context)
    {
        try
        {
            await completion.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{context}: the pipeline did not finish within 60 s; status: {SluiceCluster.Describe(await fixture.Cluster.StatusAsync(id))}");
        }
    }
}

public sealed class Window_properties_on_one_silo(OneSiloCluster fixture, ITestOutputHelper output)
    : WindowPropertyTests(fixture, output), IClassFixture<OneSiloCluster>;

public sealed class Window_properties_on_two_silos(TwoSiloCluster fixture, ITestOutputHelper output)
    : WindowPropertyTests(fixture, output), IClassFixture<TwoSiloCluster>;

public sealed class Window_properties_on_three_silos(ThreeSiloCluster fixture, ITestOutputHelper output)
    : WindowPropertyTests(fixture, output), IClassFixture<ThreeSiloCluster>;
