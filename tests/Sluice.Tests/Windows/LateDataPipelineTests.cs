using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Tests.Infrastructure;
using Sluice.Windows;

namespace Sluice.Tests.Windows;

/// <summary>
/// Allowed lateness and the late-data side output through real silos: the late records are a stream a pipeline can
/// sink, the late updates reach the sink marked as such, and the pipeline status counts late records per stage.
/// </summary>
public sealed class LateDataPipelineTests
{
    private static readonly OutputTag<(string User, long Value)> Late = new("late");

    [Fact]
    public async Task Late_records_are_a_side_output_stream_and_late_updates_reach_the_sink_marked_late()
    {
        await using var cluster = await SluiceCluster.StartAsync(1);
        var id = $"lateness-{Guid.NewGuid():N}";
        var source = new InMemorySource<(string User, long Value)>("in", 1);
        var results = new CollectingSink<(string User, long End, long Sum, WindowFiring Firing)>("results");
        var late = new CollectingSink<(string User, long Value)>("late");
        var p = Pipeline.Create(id, o => o.MaxParallelism = 4);
        var windowed = p.From(source)
            .KeyBy(r => r.User)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(10)))
            .AllowedLateness(TimeSpan.FromMilliseconds(5))
            .SideOutputLateData(Late)
            .Aggregate(Aggregates.Sum<(string User, long Value)>(r => r.Value), new SumWithFiring(), "sessions");
        windowed.SinkTo(results);
        windowed.SideOutput(Late).SinkTo(late);
        cluster.Register(p);

        source.Add(0, ("a", 1), 2);
        source.AddWatermark(0, 9);    // fires [0, 10) on time
        source.Add(0, ("a", 2), 4);   // within lateness: late update
        source.AddWatermark(0, 14);   // cleans [0, 10)
        source.Add(0, ("a", 4), 6);   // beyond lateness: side output
        source.Add(0, ("b", 8), 1);   // never had a window: side output
        source.CompleteAll();

        await results.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        await late.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal([("a", 10L, 1L, WindowFiring.OnTime), ("a", 10L, 3L, WindowFiring.Late)], results.Values.ToList());
        Assert.Equal([("a", 4L), ("b", 8L)], late.Values.OrderBy(v => v.User).ToList());

        var status = await cluster.WaitForStatusAsync(id, s => s.LateRecordsSideOutput == 2, TimeSpan.FromSeconds(60), "late side-output counter");
        Assert.Equal(0, status.LateRecordsDropped);
        var stage = Assert.Single(status.Stages, s => s.Name == "sessions");
        Assert.Equal(2, stage.LateRecordsSideOutput);
        Assert.Equal(0, stage.LateRecordsDropped);
    }

    private sealed class SumWithFiring : IProcessWindowFunction<long, (string User, long End, long Sum, WindowFiring Firing), string>
    {
        public void Process(string key, WindowContext context, IReadOnlyList<long> elements, ICollector<(string User, long End, long Sum, WindowFiring Firing)> output) =>
            output.Collect((key, context.Window.End, elements[0], context.Firing));
    }
}
