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
}

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
