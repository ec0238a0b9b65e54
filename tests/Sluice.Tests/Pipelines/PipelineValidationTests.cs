using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Functions;
using Sluice.Pipelines;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Time;
using Sluice.Windows;

namespace Sluice.Tests.Pipelines;

public sealed class PipelineValidationTests
{
    private static readonly GeneratorSourceOptions Generator = new() { Partitions = 2, RecordsPerSecond = 0, RecordsPerPartition = 10 };

    [Fact]
    public void Event_time_window_without_timestamps_is_rejected_with_the_fix_in_the_message()
    {
        var p = Pipeline.Create("no-timestamps");
        p.From(new GeneratorSource<long>("gen", Generator, e => e.Key))
            .KeyBy(k => k)
            .Window(Tumbling.Of(TimeSpan.FromSeconds(1)))
            .Aggregate(Aggregates.Count<long>())
            .SinkTo(new CollectingSink<long>("out"));

        var error = Assert.Throws<PipelineValidationException>(() => PipelinePlanner.Plan(p));
        Assert.Contains("no-timestamps", error.Message, StringComparison.Ordinal);
        Assert.Contains("WithTimestamps", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Processing_time_window_needs_no_timestamps()
    {
        var p = Pipeline.Create("processing-time");
        p.From(new GeneratorSource<long>("gen", Generator, e => e.Key))
            .KeyBy(k => k)
            .Window(Tumbling.OfProcessingTime(TimeSpan.FromSeconds(1)))
            .Aggregate(Aggregates.Count<long>())
            .SinkTo(new CollectingSink<long>("out"));

        var plan = PipelinePlanner.Plan(p);
        Assert.Equal(2, plan.Stages.Count);
    }

    [Fact]
    public void Timestamps_after_a_keyed_stage_are_rejected()
    {
        var p = Pipeline.Create("late-timestamps");
        p.From(new InMemorySource<long>("in", 1))
            .KeyBy(k => k)
            .Window(Tumbling.Of(TimeSpan.FromSeconds(1)))
            .Aggregate(Aggregates.Count<long>())
            .WithTimestamps(c => c, WatermarkStrategy.ForMonotonousTimestamps())
            .SinkTo(new CollectingSink<long>("out"));

        var error = Assert.Throws<PipelineValidationException>(() => PipelinePlanner.Plan(p));
        Assert.Contains("before the first KeyBy", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(PipelineOptions.MaxSupportedParallelism + 1)]
    public void Max_parallelism_out_of_range_is_rejected(int maxParallelism)
    {
        var p = Pipeline.Create("bad-parallelism", o => o.MaxParallelism = maxParallelism);
        p.From(new InMemorySource<long>("in", 1)).SinkTo(new CollectingSink<long>("out"));

        var error = Assert.Throws<PipelineValidationException>(() => PipelinePlanner.Plan(p));
        Assert.Contains("MaxParallelism", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Per_stage_max_parallelism_out_of_range_is_rejected()
    {
        var p = Pipeline.Create("bad-stage-parallelism");
        p.From(new InMemorySource<long>("in", 1))
            .KeyBy(k => k, maxParallelism: 0)
            .Window(Tumbling.Of(TimeSpan.FromSeconds(1)))
            .Aggregate(Aggregates.Count<long>())
            .SinkTo(new CollectingSink<long>("out"));

        var error = Assert.Throws<PipelineValidationException>(() => PipelinePlanner.Plan(p));
        Assert.Contains("window-aggregate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pipeline_without_a_sink_is_rejected()
    {
        var p = Pipeline.Create("no-sink");
        p.From(new InMemorySource<long>("in", 1)).Map(v => v + 1);

        var error = Assert.Throws<PipelineValidationException>(() => PipelinePlanner.Plan(p));
        Assert.Contains("no sink", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pipeline_id_cannot_be_registered_twice()
    {
        var registry = new PipelineRegistry(NullLogger<PipelineRegistry>.Instance);
        registry.Register(Simple("twice"));

        var error = Assert.Throws<PipelineValidationException>(() => registry.Register(Simple("twice")));
        Assert.Contains("'twice' is already registered", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    public void Pipeline_ids_must_be_usable_in_grain_keys(string id) =>
        Assert.Throws<ArgumentException>(() => Pipeline.Create(id));

    [Fact]
    public void Planner_chains_stateless_operators_and_splits_stages_at_key_by_and_sinks()
    {
        var p = Pipeline.Create("two-stage", o => o.MaxParallelism = 16);
        p.From(new InMemorySource<(string Key, long Value)>("in", 3))
            .Filter(r => r.Value > 0)
            .Map(r => r with { Value = r.Value * 2 })
            .KeyBy(r => r.Key)
            .Window(Tumbling.Of(TimeSpan.FromSeconds(1)))
            .Aggregate(Aggregates.Sum<(string Key, long Value)>(r => r.Value), (k, w, sum) => (k, w.End, sum))
            .KeyBy(r => r.End, maxParallelism: 4)
            .Window(Tumbling.Of(TimeSpan.FromSeconds(1)))
            .Reduce((a, b) => (a.k, a.End, a.sum + b.sum))
            .SinkTo(new CollectingSink<(string, long, long)>("out", parallelism: 2));

        var plan = PipelinePlanner.Plan(p);

        Assert.Equal([16, 4, 2], plan.Stages.Select(s => s.Parallelism));
        Assert.Equal([StageKind.Keyed, StageKind.Keyed, StageKind.Sink], plan.Stages.Select(s => s.Kind));
        Assert.Equal([1], plan.Sources[0].Targets);
        Assert.Equal(3, plan.GetStage(1).ChannelsOf(0).Count);   // one channel per source partition
        Assert.Equal(16, plan.GetStage(2).ChannelsOf(3).Count);  // one channel per upstream key group
        Assert.Equal([0, 2], plan.GetStage(3).ChannelsOf(0));    // sink task 0 reads upstream tasks 0 and 2
        Assert.Equal(20, plan.KeyGroups);
    }

    private static Pipeline Simple(string id)
    {
        var p = Pipeline.Create(id);
        p.From(new InMemorySource<long>("in", 1)).SinkTo(new CollectingSink<long>("out"));
        return p;
    }
}
