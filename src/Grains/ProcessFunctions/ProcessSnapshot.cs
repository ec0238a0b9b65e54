using Sluice.State.Snapshots;

namespace Sluice.ProcessFunctions;

/// <summary>
/// A process function operator's key group as it goes into a snapshot: its state backend's snapshot, the pending
/// event- and processing-time timers (key and time columns), the watermark and any broadcast state.
/// </summary>
[GenerateSerializer]
internal sealed class ProcessSnapshot<TKey>
{
    [Id(0)] public KeyedStateSnapshot State { get; set; } = KeyedStateSnapshot.Empty;

    [Id(1)] public KeyTimerColumns<TKey> EventTimers { get; set; } = new();

    [Id(2)] public KeyTimerColumns<TKey> ProcessingTimers { get; set; } = new();

    [Id(3)] public long Watermark { get; set; } = long.MinValue;

    /// <summary>A broadcast process function's broadcast state (the same in every key group); null for other operators.</summary>
    [Id(4)] public BroadcastStateSnapshot? Broadcast { get; set; }
}

/// <summary>Broadcast states by name, each serialized on its own (their types differ), so one not asked for yet is kept as bytes.</summary>
[GenerateSerializer]
internal sealed class BroadcastStateSnapshot
{
    [Id(0)] public string[] Names { get; set; } = [];

    [Id(1)] public byte[][] States { get; set; } = [];
}

/// <summary>Timers as columns: key and fire time.</summary>
[GenerateSerializer]
internal sealed class KeyTimerColumns<TKey>
{
    [Id(0)] public TKey[] Keys { get; set; } = [];

    [Id(1)] public long[] Times { get; set; } = [];
}
