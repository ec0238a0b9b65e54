namespace Sluice.Status;

/// <summary>What tasks tell the pipeline grain about themselves, about once a second.</summary>
internal interface IPipelineReportsGrain : IGrainWithStringKey
{
    Task ReportTaskAsync(TaskReport report);

    Task ReportSourceAsync(SourceReport report);

    /// <summary>A receiver giving a partition up (its queue moves) says where the next owner should resume.</summary>
    Task HandOverAsync(int source, int partition, long position);

    /// <summary>Where a partition was handed over, or -1.</summary>
    Task<long> GetHandoverAsync(int source, int partition);
}

/// <summary>Totals of one stage task since its activation.</summary>
[GenerateSerializer, Immutable]
internal sealed record TaskReport(
    [property: Id(0)] int Stage,
    [property: Id(1)] int Task,
    [property: Id(2)] long RecordsIn,
    [property: Id(3)] long RecordsOut,
    [property: Id(4)] long Watermark,
    [property: Id(5)] long LateRecordsDropped,
    [property: Id(6)] long InvalidRecords,
    [property: Id(7)] string? LastError,
    [property: Id(8)] int StateEntries,
    [property: Id(9)] long DuplicatesDropped,
    [property: Id(10)] bool Finished)
{
    /// <summary>Why the task stopped (a user function failed under <see cref="ErrorPolicy.Fail"/> without checkpoints), or null.</summary>
    [Id(11)] public string? Failure { get; init; }

    /// <summary>Late records the task's windows sent to their late-data side output.</summary>
    [Id(12)] public long LateRecordsSideOutput { get; init; }

    /// <summary>Milliseconds spent waiting for room in full exchange buffers downstream since the task started.</summary>
    [Id(13)] public long BackpressureMilliseconds { get; init; }
}

/// <summary>Totals of one source partition since its reader was opened.</summary>
[GenerateSerializer, Immutable]
internal sealed record SourceReport(
    [property: Id(0)] int Source,
    [property: Id(1)] int Partition,
    [property: Id(2)] long RecordsRead,
    [property: Id(3)] long Watermark,
    [property: Id(4)] bool Idle,
    [property: Id(5)] long Backlog,
    [property: Id(6)] bool Ended,
    [property: Id(7)] long InvalidRecords,
    [property: Id(8)] string? LastError,
    [property: Id(9)] long DeadLetters)
{
    /// <summary>Why the partition stopped (a user function failed under <see cref="ErrorPolicy.Fail"/> without checkpoints), or null.</summary>
    [Id(10)] public string? Failure { get; init; }

    /// <summary>Position of the next record (Kafka: offset), or -1.</summary>
    [Id(11)] public long Position { get; init; } = -1;

    /// <summary>One past the partition's last record (Kafka: high watermark), or -1.</summary>
    [Id(12)] public long EndPosition { get; init; } = -1;
}
