namespace Sluice.Functions;

/// <summary>
/// A sink whose output becomes visible exactly once. What a task writes between Barrier(n-1) and Barrier(n) is
/// epoch n: it is prepared (staged durably, invisible to readers) when Barrier(n) passes the task and committed
/// (made visible) when checkpoint n completes. After a failure the pipeline restarts from its last complete
/// checkpoint c: epochs prepared up to c are committed (again, if they already were: commits are idempotent),
/// epochs after c are never committed and their records are produced again by the replay.
/// </summary>
/// <remarks>Flink's two-phase-commit sink, with the transaction handle kept in the task's checkpoint state.</remarks>
public interface ITransactionalSink<in T> : ISinkFunction<T>
{
    /// <summary>
    /// Barrier(<paramref name="checkpointId"/>) reached the task: seal the epoch. The synchronous part must take
    /// everything written since the previous barrier (processing continues as soon as this returns); the returned
    /// task stages it durably. Its result is the epoch's transaction handle, stored in the checkpoint, or null
    /// when the epoch is empty.
    /// </summary>
    Task<byte[]?> PrepareAsync(long checkpointId, CancellationToken cancellationToken);

    /// <summary>
    /// Checkpoint <paramref name="checkpointId"/> completed (or the pipeline restored from a checkpoint that holds
    /// this transaction): make the prepared epoch visible. May be called more than once for one epoch, and not always on
    /// the writer that prepared it: after a restore, a writer created for the same task index commits it, and when the
    /// sink now has fewer tasks, the epochs of a task that is gone are committed through a writer created for that task's
    /// index by the task that took it over. So the handle and the task index must be all a commit needs.
    /// </summary>
    Task CommitAsync(long checkpointId, byte[] transaction, CancellationToken cancellationToken);
}
