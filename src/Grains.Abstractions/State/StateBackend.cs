namespace Sluice.State;

/// <summary>Where a keyed stage keeps its state (window contents and keyed state), per key group.</summary>
public enum StateBackend
{
    /// <summary>Objects on the heap of the silo that hosts the key group; snapshots copy them (the default).</summary>
    Heap,
}
