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

    /// <summary>The pipeline attempt this task runs in; stamped on everything it sends.</summary>
    public long Attempt { get; init; }

    /// <summary>The input of <paramref name="target"/> that this task sends on (<paramref name="port"/> 1: a two-input stage's second input).</summary>
    public abstract InputPlan InputOf(StagePlan target, int port);

    /// <summary>The tasks of <paramref name="target"/> this task sends to; its output needs one buffer per target, in this order.</summary>
    public int[] TargetsOf(StagePlan target, int port) => target.TargetsOf(InputOf(target, port), TaskIndex);

    /// <summary>Creates the transport for one edge: per-target buffers in, batches out to input <paramref name="port"/> of <paramref name="target"/>.</summary>
    public abstract IBufferedOutput CreateOutput(StagePlan target, int port, IRecordBatchBuilder[] buffers);
}
