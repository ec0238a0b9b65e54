namespace Sluice.Checkpointing;

/// <summary>What sources and tasks tell the coordinator while a checkpoint runs.</summary>
internal interface ICheckpointProtocolGrain : IGrainWithStringKey
{
    /// <summary>The checkpoint sources should inject a barrier for now (0: none).</summary>
    Task<long> GetPendingCheckpointAsync();

    /// <summary>A source partition emitted the barrier; <paramref name="position"/> is where it resumes after a restore.</summary>
    Task AckSourceAsync(long checkpointId, int source, int partition, long position);

    /// <summary>A task aligned its inputs, snapshotted and uploaded its state.</summary>
    Task AckTaskAsync(TaskCheckpointAck ack);
}

/// <summary>A task's part of a checkpoint: where its state blob is (null when it has no state) and how long alignment took.</summary>
[GenerateSerializer, Immutable]
internal sealed record TaskCheckpointAck(
    [property: Id(0)] long CheckpointId,
    [property: Id(1)] int Stage,
    [property: Id(2)] int Task,
    [property: Id(3)] string? BlobPath,
    [property: Id(4)] long Bytes,
    [property: Id(5)] long AlignmentMilliseconds,
    [property: Id(6)] string? Failure);

/// <summary>The commit record of a completed checkpoint, written last as "{pipeline}/chk-{n}/_metadata".</summary>
internal sealed record CheckpointMetadata(
    string Pipeline,
    long CheckpointId,
    DateTimeOffset CompletedAt,
    IReadOnlyList<SourcePosition> Sources,
    IReadOnlyList<TaskState> Tasks);

internal sealed record SourcePosition(int Source, int Partition, long Position);

internal sealed record TaskState(int Stage, int Task, string? BlobPath, long Bytes);

[System.Text.Json.Serialization.JsonSerializable(typeof(CheckpointMetadata))]
internal sealed partial class CheckpointJson : System.Text.Json.Serialization.JsonSerializerContext;

internal static class CheckpointLayout
{
    public static string Folder(string pipeline, long checkpointId) => $"{pipeline}/chk-{checkpointId}/";

    public static string Metadata(string pipeline, long checkpointId) => $"{Folder(pipeline, checkpointId)}_metadata";

    public static string TaskBlob(string pipeline, long checkpointId, int stage, int task) => $"{Folder(pipeline, checkpointId)}{stage}-{task}";
}
