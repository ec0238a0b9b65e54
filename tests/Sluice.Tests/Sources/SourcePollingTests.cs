using Sluice.Functions;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Sluice.Time;
using Sluice.Windows;

namespace Sluice.Tests.Sources;

/// <summary>
/// A source partition's worst-case output per poll (two messages per target plus its batch size over the
/// buffer size) can exceed what the stream cache accepts per pull (cache size / 10). Such a partition must
/// still be read, and so must the partitions after it on the same queue.
/// </summary>
public sealed class SourcePollingTests(OneSiloCluster fixture) : IClassFixture<OneSiloCluster>
{
    [Fact]
    public async Task A_partition_whose_worst_case_poll_exceeds_the_cache_add_limit_is_still_read()
    {
        var id = $"wide-poll-{Guid.NewGuid():N}";
        var source = new InMemorySource<Event>("events", 4);
        var sink = new CollectingSink<WindowResult>("results");
        // 4,000 records per read in batches of 1: up to ~4,000 containers per poll, above the 3,276 the
        // default cache (32,768 / 10) takes per pull.
        var pipeline = Pipeline.Create(id, o =>
        {
            o.MaxParallelism = 1;
            o.BufferSize = 1;
            o.SourceBatchSize = 4_000;
        });
        pipeline.From(source)
            .WithTimestamps(e => e.Ts, WatermarkStrategy.ForMonotonousTimestamps())
            .KeyBy(e => e.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(50)))
            .Aggregate(Aggregates.Count<Event>(), (key, w, count) => new WindowResult(key, w.Start, w.End, count))
            .SinkTo(sink);
        fixture.Cluster.Register(pipeline);

        var records = new List<Event>();
        for (var p = 0; p < 4; p++)
        {
            for (var ts = 0; ts < 100; ts++)
            {
                var e = new Event($"k{p}", ts, 1);
                source.Add(p, e, e.Ts);
                records.Add(e);
            }
        }

        source.CompleteAll();
        try
        {
            await sink.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"The pipeline did not finish; status: {SluiceCluster.Describe(await fixture.Cluster.StatusAsync(id))}");
        }

        WindowOracle.AssertSameMultiset(WindowOracle.Tumbling(records, 50, 0, AggregateKind.Count), sink.Values, $"pipeline {id}");
    }
}
