namespace Sluice.Sources;

/// <summary>
/// The positions a source partition recorded at its barriers while their checkpoints are pending, for a reader that
/// listens for completed checkpoints (<see cref="ICheckpointListeningSourceReader"/>): when a checkpoint completes, the
/// reader hears the position of the newest barrier it covers, once. Kept per attempt; nothing for other readers.
/// </summary>
internal sealed class BarrierPositions(ICheckpointListeningSourceReader? listener)
{
    private const int MaxPending = 64;
    private readonly Queue<(long Checkpoint, long Position)> _pending = new();

    public void Injected(long checkpointId, long position)
    {
        if (listener is null || position < 0)
        {
            return;
        }

        if (_pending.Count == MaxPending)
        {
            _pending.Dequeue(); // checkpoints keep failing: the oldest would only be superseded anyway
        }

        _pending.Enqueue((checkpointId, position));
    }

    /// <summary>Checkpoint <paramref name="checkpointId"/>, and so every one before it, completed.</summary>
    public void Completed(long checkpointId)
    {
        if (_pending.Count == 0 || _pending.Peek().Checkpoint > checkpointId)
        {
            return;
        }

        var (completed, position) = _pending.Dequeue();
        while (_pending.Count > 0 && _pending.Peek().Checkpoint <= checkpointId)
        {
            (completed, position) = _pending.Dequeue();
        }

        listener!.CheckpointCompleted(completed, position);
    }
}
