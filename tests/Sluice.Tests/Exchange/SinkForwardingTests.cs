using Sluice.Functions;
using Sluice.Pipelines;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Sluice.Time;
using Sluice.Windows;

namespace Sluice.Tests.Exchange;

/// <summary>
/// A sink may have more tasks than the stage feeding it: every sink task must still get a sender (records
/// are spread round-robin), hear the end of input and finish, or the sink never completes.
/// </summary>
public sealed class SinkForwardingTests(OneSiloCluster fixture) : IClassFixture<OneSiloCluster>
{
    [Fact]
    public void Every_sink_task_is_fed_by_exactly_one_sender_when_the_sink_has_more_tasks_than_its_input()
    {
        var p = Pipeline.Create("plan-wide-sink", o => o.MaxParallelism = 2);
        p.From(new InMemorySource<Event>("events", 1))
            .WithTimestamps(e => e.Ts, WatermarkStrategy.ForMonotonousTimestamps())
            .KeyBy(e => e.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(10)))
            .Aggregate(Aggregates.Count<Event>())
            .SinkTo(new CollectingSink<long>("out", parallelism: 5));

        var sink = PipelinePlanner.Plan(p).GetStage(2);
        var input = sink.Inputs.Single();
        Assert.All(Enumerable.Range(0, 5), task => Assert.Single(sink.ChannelsOf(task)));
        Assert.Equal([0, 2, 4], sink.TargetsOf(input, 0));
        Assert.Equal([1, 3], sink.TargetsOf(input, 1));
    }

    [Fact]
    public async Task A_sink_with_more_tasks_than_key_groups_receives_every_result_and_completes()
    {
        var id = $"wide-sink-{Guid.NewGuid():N}";
        var source = new InMemorySource<Event>("events", 2);
        var sink = new CollectingSink<WindowResult>("results", parallelism: 3);
        var pipeline = Pipeline.Create(id, o => o.MaxParallelism = 1);
        pipeline.From(source)
            .WithTimestamps(e => e.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(5)))
            .KeyBy(e => e.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(10)))
            .Aggregate(Aggregates.Sum<Event>(e => e.Value), (key, w, sum) => new WindowResult(key, w.Start, w.End, sum))
            .SinkTo(sink);
        fixture.Cluster.Register(pipeline);

        var records = Enumerable.Range(0, 200).Select(i => new Event($"k{i % 7}", i, i)).ToList();
        foreach (var (e, i) in records.Select((e, i) => (e, i)))
        {
            source.Add(i % 2, e, e.Ts);
        }

        source.CompleteAll();
        await sink.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        WindowOracle.AssertSameMultiset(WindowOracle.Tumbling(records, 10, 0, AggregateKind.Sum), sink.Values, $"pipeline {id}");
    }
}
