using Sluice.Functions;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.State;
using Sluice.Tests.State;
using Sluice.Tests.Infrastructure;
using Sluice.Windows;

namespace Sluice.Tests.Windows;

public sealed class SmokeTests
{
    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public async Task Tumbling_count_per_key_from_memory_source(StateBackend backend)
    {
        await using var cluster = await SluiceCluster.StartAsync(1);
        var source = new InMemorySource<(string Key, int Value)>("in", 2);
        var sink = new CollectingSink<(string Key, long WindowEnd, long Count)>("out");
        var p = Pipeline.Create("smoke", o =>
        {
            o.MaxParallelism = 8;
            o.StateBackend = backend;
        });
        p.From(source)
            .KeyBy(r => r.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(10)))
            .Aggregate(Aggregates.Count<(string Key, int Value)>(), (key, window, count) => (key, window.End, count))
            .SinkTo(sink);
        cluster.Register(p);

        source.Add(0, ("a", 1), 1);
        source.Add(0, ("a", 1), 5);
        source.Add(1, ("b", 1), 3);
        source.Add(1, ("a", 1), 12);
        source.AddWatermark(0, 9);
        source.AddWatermark(1, 9);
        source.CompleteAll();

        await sink.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        var results = sink.Values.OrderBy(r => r.Key).ThenBy(r => r.WindowEnd).ToList();
        Assert.Equal([("a", 10L, 2L), ("a", 20L, 1L), ("b", 10L, 1L)], results);
    }
}
