using Sluice.Exchange;
using Sluice.Pipelines;
using Sluice.Tasks;
using Sluice.Time;

namespace Sluice.Sources;

/// <summary>Builds a source partition's chain with emitters as its outputs.</summary>
internal sealed class SourceTaskContext(PipelinePlan plan, SourcePlan source, int partition, IServiceProvider services, Func<long> clock, UserErrorReporter errors, SourcePullContext pull)
    : TaskBuildContext(plan, partition, services, clock, errors)
{
    public PartitionWatermark Watermark { get; } = new();

    public override PartitionWatermark? SourceWatermark => Watermark;

    public List<SourceEmitter> Emitters { get; } = [];

    public override InputPlan InputOf(StagePlan target, int port) => target.InputFrom(fromSource: true, source.Index, port);

    public override IBufferedOutput CreateOutput(StagePlan target, int port, IRecordBatchBuilder[] buffers)
    {
        var channel = InputOf(target, port).ChannelOffset + TaskIndex;
        var emitter = new SourceEmitter(Plan, target, channel, TargetsOf(target, port), buffers, pull, Attempt);
        Emitters.Add(emitter);
        return emitter;
    }
}
