namespace Sluice.Sinks;

/// <summary>
/// A transactional sink writer that keeps data of its own beside the checkpoint (a Kafka sink's spilled epochs). After
/// its task restored a checkpoint, what the task's earlier writers left there that no pending transaction of the restored
/// state refers to belongs to epochs that will never be committed (their checkpoint never completed), and can go.
/// </summary>
internal interface IRestoredSink
{
    /// <summary>
    /// Deletes what this sink task keeps beside the checkpoint except what <paramref name="pending"/> (the transaction
    /// handles the restored state holds for this task index) refers to and what this writer wrote itself. A failure is
    /// logged, never thrown: what is left is only garbage.
    /// </summary>
    Task DiscardUnreferencedAsync(IReadOnlyList<byte[]> pending);
}
