namespace Sluice.Checkpointing;

/// <summary>What sources and tasks tell the coordinator, and ask it, while a pipeline runs.</summary>
internal interface ICheckpointProtocolGrain : IGrainWithStringKey
{
    /// <summary>What source partitions should do now: the attempt to run, where it restores from, the barrier to inject.</summary>
    Task<AttemptDirective> GetDirectiveAsync();

    /// <summary>
    /// A task or source partition joins the current attempt. <paramref name="activation"/>: it is a fresh activation
    /// (a new grain, a partition opened by a receiver); if it had already joined this attempt, its state was lost and
    /// the pipeline restarts. Otherwise it reset itself to the attempt it had been told of. <paramref name="silo"/>: where
    /// it runs, named in the restart reason.
    /// </summary>
    Task<AttemptDirective> JoinAsync(TaskIdentity identity, bool activation, SiloAddress? silo = null);

    /// <summary>
    /// A receiver opens a source partition (<paramref name="activation"/> as for <see cref="JoinAsync"/>). When the
    /// partition had another owner in this attempt, the answer carries that owner's handover, or says to wait for it
    /// while the owner is alive and handing over; a partition whose owner died or gave up restarts the pipeline.
    /// <paramref name="opening"/> names this opening: asked again with the same one (its answer was lost on the way
    /// back), the coordinator answers as before instead of taking the retry for a second opening.
    /// </summary>
    Task<SourceTakeover> TakeOverSourceAsync(TaskIdentity identity, SiloAddress owner, bool activation, long opening);

    /// <summary>
    /// The owner of a source partition let it go in a planned move (its queue went elsewhere, its silo shuts down):
    /// the next owner continues from <paramref name="handover"/>; null means it cannot, and the pipeline restarts.
    /// </summary>
    Task HandOverSourceAsync(long attempt, TaskIdentity identity, Sources.SourceHandover? handover);

    /// <summary>
    /// <paramref name="silo"/> shuts down gracefully: what it holds moves (key groups migrate, source partitions are
    /// handed over), so its leaving the cluster later is not a failure. Whatever could not move turns up again in the
    /// attempt, and that restarts the pipeline.
    /// </summary>
    Task SiloLeavingAsync(SiloAddress silo);

    /// <summary>Moves the coordinator, with its state, to <paramref name="target"/> (a planned move).</summary>
    Task MigrateAsync(SiloAddress target);

    /// <summary>A task failed in <paramref name="attempt"/>; the pipeline restarts (or, when the failure is fatal, is FAILED).</summary>
    Task ReportFailureAsync(long attempt, TaskIdentity identity, string reason, RestoreFailure restoreFailure);

    /// <summary>
    /// A source partition emitted the barrier; <paramref name="position"/> is where it resumes after a restore and
    /// <paramref name="watermark"/> the watermark it had sent and <paramref name="idle"/> whether it was idle, which it
    /// resumes with.
    /// </summary>
    Task AckSourceAsync(long attempt, long checkpointId, int source, int partition, long position, long watermark, bool idle);

    /// <summary>A task aligned its inputs, snapshotted and uploaded its state.</summary>
    Task AckTaskAsync(TaskCheckpointAck ack);

    /// <summary>
    /// The current attempt and the newest completed checkpoint's id (0: none), which fence live state query answers;
    /// never waits behind a commit.
    /// </summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<QueryableState.QueryFence> GetQueryFenceAsync();
}

/// <summary>A task (stage, task index) or a source partition (source index, partition), as the coordinator tracks them.</summary>
[GenerateSerializer, Immutable]
internal readonly record struct TaskIdentity([property: Id(0)] bool IsSource, [property: Id(1)] int Stage, [property: Id(2)] int Task)
{
    public static TaskIdentity OfTask(int stage, int task) => new(false, stage, task);

    public static TaskIdentity OfSource(int source, int partition) => new(true, source, partition);

    public override string ToString() => IsSource ? $"source {Stage} partition {Task}" : $"task {Stage}/{Task}";
}

/// <summary>Why a restore failed, which decides what the coordinator does about it.</summary>
[GenerateSerializer]
internal enum RestoreFailure
{
    /// <summary>Not a restore problem: restart from the same checkpoint.</summary>
    None,

    /// <summary>The checkpoint's blob is missing, truncated or corrupted: restart from the complete checkpoint before it.</summary>
    CorruptCheckpoint,

    /// <summary>The state was written for another schema: no restart can help; the pipeline is FAILED.</summary>
    Fatal,
}

/// <summary>
/// The coordinator's answer to sources and tasks: which attempt runs, the checkpoint (or savepoint) it restores
/// from — its id and the path of its metadata, null when it starts from nothing — and the open checkpoint.
/// </summary>
[GenerateSerializer, Immutable]
internal sealed record AttemptDirective(
    [property: Id(0)] long Attempt,
    [property: Id(1)] long RestoreFrom,
    [property: Id(4)] string? RestoreMetadata,
    [property: Id(2)] long PendingCheckpoint,
    [property: Id(3)] bool Failed)
{
    /// <summary>The newest completed checkpoint (0: none), so sources learn of completions with the directives they poll.</summary>
    [Id(5)] public long LastCompleted { get; init; }

    /// <summary>Canceled or stopped with a savepoint by an operator: sources read nothing until a new attempt starts.</summary>
    [Id(6)] public bool Stopped { get; init; }

    /// <summary>When not 0, a stop-with-savepoint waits for this checkpoint: sources read nothing after its barrier.</summary>
    [Id(7)] public long StopAfterCheckpoint { get; init; }
}

/// <summary>The answer to a receiver opening a source partition: the attempt, and how to continue the partition.</summary>
[GenerateSerializer, Immutable]
internal sealed record SourceTakeover(
    [property: Id(0)] AttemptDirective Directive,
    [property: Id(1)] Sources.SourceHandover? Handover,
    [property: Id(2)] bool Wait);

/// <summary>A task's part of a checkpoint: where its state blob is (null when it has no state) and how long alignment took.</summary>
[GenerateSerializer, Immutable]
internal sealed record TaskCheckpointAck(
    [property: Id(7)] long Attempt,
    [property: Id(0)] long CheckpointId,
    [property: Id(1)] int Stage,
    [property: Id(2)] int Task,
    [property: Id(3)] string? BlobPath,
    [property: Id(4)] long Bytes,
    [property: Id(5)] long AlignmentMilliseconds,
    [property: Id(6)] string? Failure)
{
    /// <summary>The task's state had not changed: <see cref="BlobPath"/> is the blob of an earlier checkpoint.</summary>
    [Id(8)]
    public bool Reused { get; init; }

    /// <summary>The task's watermark when it aligned: a restored task never goes below it.</summary>
    [Id(9)]
    public long Watermark { get; init; } = long.MinValue;
}

/// <summary>The commit record of a completed checkpoint, written last as "{pipeline}/chk-{n}/_metadata".</summary>
internal sealed record CheckpointMetadata(
    string Pipeline,
    long CheckpointId,
    DateTimeOffset CompletedAt,
    IReadOnlyList<SourcePosition> Sources,
    IReadOnlyList<TaskState> Tasks);

/// <summary>
/// Where a source partition resumes, and its watermark at the barrier. The watermark is restored with the position:
/// a partition that reads nothing more after a restore (its input is all read) would otherwise hold every window
/// downstream back, and the replay decides lateness exactly as the original run did. Null in metadata of older builds.
/// <see cref="Idle"/>: the partition was idle at the barrier, and is idle again from the restore until it reads a record
/// (otherwise it would hold the watermark back for its idle timeout, where the original run did not).
/// </summary>
internal sealed record SourcePosition(int Source, int Partition, long Position, long? Watermark = null, bool Idle = false);

/// <summary>
/// A task's part of a checkpoint: its state blob, and its watermark when it aligned (null in metadata of older builds),
/// below which the restored task's watermark never goes.
/// </summary>
internal sealed record TaskState(int Stage, int Task, string? BlobPath, long Bytes, long? Watermark = null);

[System.Text.Json.Serialization.JsonSerializable(typeof(CheckpointMetadata))]
[System.Text.Json.Serialization.JsonSerializable(typeof(AttemptMarker))]
internal sealed partial class CheckpointJson : System.Text.Json.Serialization.JsonSerializerContext;

internal static class CheckpointLayout
{
    public static string Folder(string pipeline, long checkpointId) => $"{pipeline}/chk-{checkpointId}/";

    public static string Metadata(string pipeline, long checkpointId) => $"{Folder(pipeline, checkpointId)}_metadata";

    public static string TaskBlob(string pipeline, long checkpointId, int stage, int task) => $"{Folder(pipeline, checkpointId)}{stage}-{task}";

    /// <summary>Prefix of the attempt markers: "{pipeline}/attempts/{attempt:D12}", created once each.</summary>
    public static string Attempts(string pipeline) => $"{pipeline}/attempts/";

    public static string Attempt(string pipeline, long attempt) => $"{Attempts(pipeline)}{attempt:D12}";
}
