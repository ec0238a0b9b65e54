using Sluice.Exchange;
using Sluice.Operators;

namespace Sluice.Tasks;

/// <summary>
/// The operator chain of one task of a stage (a key group of a keyed stage, or a sink task), as driven by
/// its grain: records in, watermarks in, processing time in, end of input.
/// </summary>
internal interface IStageTask
{
    OperatorCounters Counters { get; }

    long? NextProcessingTime { get; }

    int StateEntries { get; }

    /// <summary>True when everything the task holds is in its snapshot, so it can move to another silo in memory.</summary>
    bool CanMigrate { get; }

    void Process(RecordBatch batch);

    /// <summary>Records of input <paramref name="port"/> (0, or 1 for the second input of a two-input stage).</summary>
    void Process(RecordBatch batch, int port) => Process(batch);

    /// <summary>Fires event-time timers up to the watermark, then forwards it downstream.</summary>
    void OnWatermark(long watermark);

    void OnProcessingTime(long now);

    void OnIdle(bool idle);

    void OnEndOfInput();

    /// <summary>The task's queryable keyed state (live state queries); null for tasks without keyed state (sinks).</summary>
    QueryableState.IQueryableStates? Queries => null;

    /// <summary>
    /// Barrier(<paramref name="checkpointId"/>) passed: copies the task's state synchronously (processing continues
    /// when this returns) and completes with the framed, checksummed snapshot, or null when the task has none.
    /// </summary>
    Task<byte[]?> SnapshotAsync(long checkpointId);

    /// <summary>Checkpoint <paramref name="checkpointId"/> is complete (or the task was restored from it): commit side effects up to it.</summary>
    Task NotifyCheckpointCompleteAsync(long checkpointId) => Task.CompletedTask;

    /// <summary>Replaces the task's state with a snapshot taken by <see cref="Snapshot"/>.</summary>
    void Restore(ReadOnlyMemory<byte> snapshot);

    /// <summary>
    /// Takes over what task <paramref name="task"/> of this stage left in the restored checkpoint, when that task no longer
    /// exists (the stage has fewer tasks now). Only sink tasks are ever asked (a keyed stage's tasks are its key groups,
    /// fixed by its maximum parallelism); a transactional sink adopts the task's pending epochs.
    /// </summary>
    void AdoptRetired(int task, ReadOnlyMemory<byte> snapshot) =>
        throw new NotSupportedException($"{GetType().Name} cannot take over the state of another task.");

    /// <summary>Everything the task holds, for its move to another silo (only when <see cref="CanMigrate"/>).</summary>
    // Keyed tasks: their snapshot, which completes synchronously. Sinks add what no checkpoint holds (the open epoch).
    byte[]? ExportForMigration() => SnapshotAsync(0).Result; // completed synchronously for keyed tasks (see above); sinks override this

    /// <summary>Continues from what <see cref="ExportForMigration"/> exported on the previous silo.</summary>
    void ImportMigrated(ReadOnlyMemory<byte> exported) => Restore(exported);
}

/// <summary>Where a task's output leaves it: an exchange to another stage. Receives the control events.</summary>
internal interface IStageOutput
{
    void OnWatermark(long watermark);

    void OnIdle(bool idle);

    void OnEndOfInput();
}

/// <summary>Told when a per-target buffer reaches the batch size, so it can be sent.</summary>
internal interface IBufferedOutput
{
    void OnBufferFull(int target);
}
