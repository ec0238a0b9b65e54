namespace Sluice.Grains;

/// <summary>The checkpoint coordinator of one pipeline (key: the pipeline id).</summary>
public interface ICheckpointCoordinatorGrain : IGrainWithStringKey
{
    /// <summary>Recent checkpoints, newest last: completed, failed and the one in progress.</summary>
    Task<IReadOnlyList<CheckpointInfo>> GetHistoryAsync();

    /// <summary>The current attempt, what it restored from, restarts so far and, once FAILED, why.</summary>
    Task<RecoveryInfo> GetRecoveryAsync();

    /// <summary>
    /// Takes a savepoint named <paramref name="name"/> (1-64 letters, digits, '-', '_'): the next checkpoint, started
    /// right away (after the one in progress), is kept under that name and never deleted automatically; see
    /// <see cref="GetSavepointsAsync"/> for when it completes.
    /// </summary>
    Task TriggerSavepointAsync(string name);

    /// <summary>Completed savepoints in the store, and requested ones in progress or failed.</summary>
    Task<IReadOnlyList<SavepointInfo>> GetSavepointsAsync();

    /// <summary>The attempts of this run, oldest first (the last 50): every one after the first is a restart, with its reason.</summary>
    Task<IReadOnlyList<AttemptInfo>> GetAttemptsAsync();

    /// <summary>
    /// Stops the pipeline now (Flink's cancel): sources read nothing more, no checkpoint is taken, a checkpoint in
    /// progress is aborted. State stays in the store; <see cref="StartAsync"/> runs it again.
    /// </summary>
    Task CancelAsync();

    /// <summary>
    /// Takes a savepoint named <paramref name="name"/> and stops the pipeline once it completes: sources read nothing
    /// after its barrier, so the savepoint holds every record read. If the savepoint fails the pipeline keeps running.
    /// </summary>
    Task StopWithSavepointAsync(string name);

    /// <summary>
    /// Runs a stopped (or FAILED) pipeline again in a new attempt: from the savepoint named <paramref name="savepoint"/>
    /// (checkpoints taken before it are ignored from then on), or, when null, from the newest completed checkpoint.
    /// </summary>
    Task StartAsync(string? savepoint);
}

/// <summary>One attempt of a checkpointed pipeline: when it started, what it restored and why it started.</summary>
[GenerateSerializer, Immutable]
public sealed record AttemptInfo(
    [property: Id(0)] long Attempt,
    [property: Id(1)] DateTimeOffset StartedAt,
    [property: Id(2)] long RestoredFrom,
    [property: Id(3)] string Reason);

/// <summary>A savepoint: a named, retained checkpoint a pipeline can start from (PipelineOptions.StartFromSavepoint).</summary>
[GenerateSerializer, Immutable]
public sealed record SavepointInfo(
    [property: Id(0)] string Name,
    [property: Id(1)] CheckpointState State,
    [property: Id(2)] long CheckpointId,
    [property: Id(3)] DateTimeOffset CompletedAt,
    [property: Id(4)] long Bytes,
    [property: Id(5)] string? Failure);

/// <summary>
/// Where a checkpointed pipeline stands in its life of failures: every global restart starts a new
/// <see cref="Attempt"/> from the checkpoint <see cref="RestoredFrom"/> (0: from the sources' start).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RecoveryInfo(
    [property: Id(0)] long Attempt,
    [property: Id(1)] long RestoredFrom,
    [property: Id(2)] int Restarts,
    [property: Id(3)] bool Restarting,
    [property: Id(4)] bool Failed,
    [property: Id(5)] string? FailureReason,
    [property: Id(6)] string? LastRestartReason,
    [property: Id(7)] IReadOnlyList<long> RecoveryMilliseconds)
{
    /// <summary>Source partitions that moved between silos in a planned way (a silo joined or shut down) and continued without a restart.</summary>
    [Id(8)]
    public int SourceHandovers { get; init; }

    /// <summary>True once the pipeline was canceled or stopped with a savepoint; <see cref="StopReason"/> says which.</summary>
    [Id(9)]
    public bool Stopped { get; init; }

    [Id(10)]
    public string? StopReason { get; init; }

    /// <summary>When the current attempt started.</summary>
    [Id(11)]
    public DateTimeOffset AttemptStartedAt { get; init; }
}

[GenerateSerializer]
public enum CheckpointState
{
    InProgress,
    Completed,
    Failed,
}

/// <summary>One checkpoint attempt: timing, size and why it failed if it did.</summary>
[GenerateSerializer, Immutable]
public sealed record CheckpointInfo(
    [property: Id(0)] long Id,
    [property: Id(1)] CheckpointState State,
    [property: Id(2)] DateTimeOffset StartedAt,
    [property: Id(3)] long DurationMilliseconds,
    [property: Id(4)] long Bytes,
    [property: Id(5)] long MaxAlignmentMilliseconds,
    [property: Id(6)] string? Failure);
