namespace Sluice.Functions;

/// <summary>
/// Optional for an <see cref="ITransactionalSink{T}"/>: its open epoch (what was written since the last barrier) can
/// move to another silo with its task. A planned move — a graceful shutdown, an Orleans rebalance — then keeps the
/// pipeline running; a transactional sink without it makes such a move restart the pipeline from its last checkpoint
/// (still exactly once, but the state is reloaded and the epoch replayed).
/// </summary>
public interface IMovableSink
{
    /// <summary>
    /// Takes the open epoch as bytes and leaves the sink as right after a barrier. Called on the task's turn while it
    /// moves; prepared epochs are not included (the task carries their transaction handles itself).
    /// </summary>
    byte[] ExportOpenEpoch();

    /// <summary>Continues an open epoch exported by the same task of the same pipeline build on its previous silo.</summary>
    void ImportOpenEpoch(ReadOnlySpan<byte> epoch);
}
