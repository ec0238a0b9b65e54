using Sluice.Exchange;
using Sluice.Operators;
using Sluice.Pipelines;
using Sluice.Time;

namespace Sluice.Tasks;

/// <summary>What building one task's chain needs, and what it collects: outputs and watermark hooks.</summary>
internal abstract class TaskBuildContext(PipelinePlan plan, int taskIndex, IServiceProvider services, Func<long> clock, UserErrorReporter errors)
{
    public PipelinePlan Plan { get; } = plan;

    public int TaskIndex { get; } = taskIndex;

    public IServiceProvider Services { get; } = services;

    public Func<long> Clock { get; } = clock;

    public UserErrorReporter Errors { get; } = errors;

    public OperatorCounters Counters { get; } = new();

    public List<IStageOutput> Outputs { get; } = [];

    /// <summary>Only source tasks assign timestamps; they own the partition's watermark.</summary>
    public virtual PartitionWatermark? SourceWatermark => null;

    public List<Action> PeriodicWatermarkEmitters { get; } = [];

    public TimeSpan? IdleTimeout { get; set; }

    /// <summary>Creates the transport for one edge: per-target buffers in, batches out to <paramref name="target"/>.</summary>
    public abstract IBufferedOutput CreateOutput(StagePlan target, IRecordBatchBuilder[] buffers);
}
