namespace Sluice.Grains;

/// <summary>
/// The cluster-wide view of one running pipeline (key: the pipeline id). Tasks report to it periodically;
/// the admin API and clients read from it.
/// </summary>
public interface IPipelineGrain : IGrainWithStringKey
{
    Task<PipelineStatus> GetStatusAsync();
}

/// <summary>Life cycle of a pipeline.</summary>
[GenerateSerializer]
public enum PipelineState
{
    /// <summary>Registered; no task has reported yet.</summary>
    Created,

    Running,

    /// <summary>Every input ended and every sink task finished (bounded sources only).</summary>
    Finished,

    Failed,

    /// <summary>Canceled, or stopped with a savepoint, by an operator; it runs again when started.</summary>
    Stopped,
}

/// <summary>A snapshot of a pipeline's progress, summed over all its tasks.</summary>
[GenerateSerializer, Immutable]
public sealed record PipelineStatus
{
    [Id(0)] public required string Id { get; init; }

    [Id(1)] public PipelineState State { get; init; }

    /// <summary>Records read by all source partitions.</summary>
    [Id(2)] public long RecordsIn { get; init; }

    /// <summary>Records written by all sinks.</summary>
    [Id(3)] public long RecordsOut { get; init; }

    /// <summary>Lowest watermark over the sink tasks that have reported (ms since epoch; long.MinValue before any).</summary>
    [Id(4)] public long EventTimeWatermark { get; init; } = long.MinValue;

    /// <summary>Key groups planned over all keyed stages (each one a grain).</summary>
    [Id(5)] public int KeyGroups { get; init; }

    /// <summary>Key-group grains that have reported so far.</summary>
    [Id(6)] public int ActiveKeyGroups { get; init; }

    [Id(7)] public long LateRecordsDropped { get; init; }

    /// <summary>Records dropped because a user function threw or a key was null; see <see cref="LastError"/>.</summary>
    [Id(8)] public long InvalidRecords { get; init; }

    [Id(9)] public string? LastError { get; init; }

    [Id(10)] public IReadOnlyList<StageStatus> Stages { get; init; } = [];

    [Id(11)] public IReadOnlyList<SourcePartitionStatus> Sources { get; init; } = [];

    /// <summary>Source records sent to a dead-letter destination (undeserialisable, or rejected by source operators).</summary>
    [Id(12)] public long DeadLetters { get; init; }

    /// <summary>Attempts, restarts and failure of a checkpointed pipeline; null when it takes no checkpoints.</summary>
    [Id(13)] public RecoveryInfo? Recovery { get; init; }

    /// <summary>Records late for all their windows that went to a window's late-data side output (not counted as dropped).</summary>
    [Id(14)] public long LateRecordsSideOutput { get; init; }

    /// <summary>Source records read per second, measured between the partitions' last two reports.</summary>
    [Id(15)] public double RecordsInPerSecond { get; init; }

    /// <summary>Records written by sinks per second, measured between their tasks' last two reports.</summary>
    [Id(16)] public double RecordsOutPerSecond { get; init; }
}

/// <summary>Progress of one stage (a keyed stage or a sink).</summary>
[GenerateSerializer, Immutable]
public sealed record StageStatus(
    [property: Id(0)] int Index,
    [property: Id(1)] string Name,
    [property: Id(2)] int Parallelism,
    [property: Id(3)] int ActiveTasks,
    [property: Id(4)] long RecordsIn,
    [property: Id(5)] long RecordsOut,
    [property: Id(6)] long Watermark,
    [property: Id(7)] long StateEntries,
    [property: Id(8)] long DuplicatesDropped)
{
    /// <summary>Records this stage's windows dropped as late (behind the watermark by more than the allowed lateness).</summary>
    [Id(9)] public long LateRecordsDropped { get; init; }

    /// <summary>Late records this stage's windows sent to their late-data side output.</summary>
    [Id(10)] public long LateRecordsSideOutput { get; init; }

    /// <summary>Records in per second over the stage's tasks, measured between their last two reports.</summary>
    [Id(11)] public double RecordsInPerSecond { get; init; }

    /// <summary>Records out per second over the stage's tasks, measured between their last two reports.</summary>
    [Id(12)] public double RecordsOutPerSecond { get; init; }

    /// <summary>
    /// Milliseconds the stage's tasks spent waiting for room in full exchange buffers downstream (backpressure),
    /// summed over its tasks since they started.
    /// </summary>
    [Id(13)] public long BackpressureMilliseconds { get; init; }

    /// <summary>Share of the last report interval the stage's busiest task spent blocked on full buffers, 0..1.</summary>
    [Id(14)] public double BackpressureRatio { get; init; }
}

/// <summary>Progress of one source partition.</summary>
[GenerateSerializer, Immutable]
public sealed record SourcePartitionStatus(
    [property: Id(0)] string Source,
    [property: Id(1)] int Partition,
    [property: Id(2)] long RecordsRead,
    [property: Id(3)] long Watermark,
    [property: Id(4)] bool Idle,
    [property: Id(5)] long Backlog,
    [property: Id(6)] bool Ended,
    [property: Id(7)] long DeadLetters)
{
    /// <summary>Position of the next record the pipeline reads (Kafka: offset), or -1 when the source cannot tell.</summary>
    [Id(8)] public long Position { get; init; } = -1;

    /// <summary>
    /// One past the last record the partition holds (Kafka: high watermark), or -1 when not known. For Kafka,
    /// <see cref="Backlog"/> is the consumer lag, this minus <see cref="Position"/>.
    /// </summary>
    [Id(9)] public long EndPosition { get; init; } = -1;
}
