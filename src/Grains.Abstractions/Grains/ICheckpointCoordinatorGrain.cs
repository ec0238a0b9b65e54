namespace Sluice.Grains;

/// <summary>The checkpoint coordinator of one pipeline (key: the pipeline id).</summary>
public interface ICheckpointCoordinatorGrain : IGrainWithStringKey
{
    /// <summary>Recent checkpoints, newest last: completed, failed and the one in progress.</summary>
    Task<IReadOnlyList<CheckpointInfo>> GetHistoryAsync();
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
