using Sluice.Exchange;
using Sluice.Functions;
using Sluice.Pipelines;
using Sluice.ProcessFunctions;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.State;
using Sluice.Time;

namespace Sluice.Tests.ProcessFunctions;

/// <summary>How two-input stages are planned: both inputs' channels in one gate, a port per input, broadcast edges to every key group.</summary>
public sealed class TwoInputPlanTests
{
    private static readonly MapStateDescriptor<string, long> Rules = new("rules");

    [Fact]
    public void A_co_process_stage_reads_both_inputs_on_their_own_ports_and_its_gate_counts_every_channel()
    {
        var p = Pipeline.Create("co", o => o.MaxParallelism = 4);
        var a = p.From(new InMemorySource<int>("a", 3)).WithTimestamps(x => x, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.Zero));
        var b = p.From(new InMemorySource<string>("b", 2)).WithTimestamps(x => x.Length, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.Zero));
        a.Connect(b).KeyBy(x => x.ToString(), y => y).Process(new Echo()).SinkTo(new CollectingSink<string>("out"));

        var plan = PipelinePlanner.Plan(p);
        var stage = plan.Stages.Single(s => s.Kind == StageKind.Keyed);

        Assert.Equal(4, stage.Parallelism);
        Assert.Equal([(0, 3, 0), (1, 2, 1)], stage.Inputs.Select(i => (i.Upstream, i.UpstreamParallelism, i.Port)));
        Assert.Equal([0, 1, 2, 3, 4], stage.ChannelsOf(2));
        Assert.Equal([0, 0, 0, 1, 1], Enumerable.Range(0, 5).Select(stage.PortOf));
    }

    [Fact]
    public void The_gate_of_a_two_input_stage_holds_the_watermark_at_the_slower_input_and_aligns_barriers_across_both()
    {
        var p = Pipeline.Create("co-gate", o => o.MaxParallelism = 2);
        var a = p.From(new InMemorySource<int>("a", 1)).WithTimestamps(x => x, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.Zero));
        var b = p.From(new InMemorySource<string>("b", 1)).WithTimestamps(x => x.Length, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.Zero));
        a.Connect(b).KeyBy(x => x.ToString(), y => y).Process(new Echo()).SinkTo(new CollectingSink<string>("out"));
        var gate = new InputGate(PipelinePlanner.Plan(p).Stages[0].ChannelsOf(0));

        gate.Update(new ChannelBatch(0, 1, 100, ChannelFlags.None, null));
        Assert.Equal(long.MinValue, gate.Watermark);
        gate.Update(new ChannelBatch(1, 1, 40, ChannelFlags.None, null));
        Assert.Equal(40, gate.Watermark);

        Assert.False(gate.OnBarrier(new ChannelBatch(0, 2, 100, ChannelFlags.Barrier, null, checkpointId: 1), 0));
        Assert.True(gate.IsHeld(0));
        Assert.True(gate.OnBarrier(new ChannelBatch(1, 2, 40, ChannelFlags.Barrier, null, checkpointId: 1), 0));
    }

    [Fact]
    public void A_broadcast_edge_feeds_every_key_group_on_the_second_port_and_one_source_may_feed_both_inputs()
    {
        var p = Pipeline.Create("rules", o => o.MaxParallelism = 8);
        var events = p.From(new InMemorySource<int>("events", 2)).WithTimestamps(x => x, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.Zero));
        var rules = events.Filter(x => x < 0, "rules-only").Map(x => x.ToString(), "as-rule");
        events.KeyBy(x => x).Connect(rules.Broadcast(Rules)).Process(new Matcher()).SinkTo(new CollectingSink<string>("out"));

        var plan = PipelinePlanner.Plan(p);
        var stage = plan.Stages.Single(s => s.Kind == StageKind.Keyed);

        Assert.Equal([(0, 0), (0, 1)], stage.Inputs.Select(i => (i.Upstream, i.Port)));
        Assert.Equal(Enumerable.Range(0, 8), stage.TargetsOf(stage.InputFrom(fromSource: true, 0, port: 1), 1));
        Assert.Equal([1], plan.Sources[0].Targets);
    }

    [Fact]
    public void Broadcast_takes_only_map_state_descriptors()
    {
        var p = Pipeline.Create("bad-rules");
        var rules = p.From(new InMemorySource<string>("rules", 1));
        Assert.Throws<ArgumentException>(() => rules.Broadcast(new ValueStateDescriptor<long>("v")));
        Assert.Throws<ArgumentException>(() => rules.Broadcast());
    }

    private sealed class Echo : KeyedCoProcessFunction<string, int, string, string>
    {
        public override void ProcessElement1(int value, IKeyedProcessContext<string> ctx, ICollector<string> output) => output.Collect(ctx.CurrentKey);

        public override void ProcessElement2(string value, IKeyedProcessContext<string> ctx, ICollector<string> output) => output.Collect(value);
    }

    private sealed class Matcher : KeyedBroadcastProcessFunction<int, int, string, string>
    {
        public override void ProcessElement(int value, IReadOnlyBroadcastContext<int> ctx, ICollector<string> output) =>
            output.Collect(ctx.GetBroadcastState(Rules).Count.ToString(System.Globalization.CultureInfo.InvariantCulture));

        public override void ProcessBroadcastElement(string value, IBroadcastContext<int> ctx, ICollector<string> output) =>
            ctx.GetBroadcastState(Rules).Put(value, 1);
    }
}
