using Sluice.State.Snapshots;

namespace Sluice.ProcessFunctions;

/// <summary>
/// A process function operator's key group as it goes into a snapshot: its state backend's snapshot, the pending
/// event- and processing-time timers (key and time columns) and the watermark.
/// </summary>
[GenerateSerializer]
internal sealed class ProcessSnapshot<TKey>
{
    [Id(0)] public KeyedStateSnapshot State { get; set; } = KeyedStateSnapshot.Empty;

    [Id(1)] public KeyTimerColumns<TKey> EventTimers { get; set; } = new();

    [Id(2)] public KeyTimerColumns<TKey> ProcessingTimers { get; set; } = new();

    [Id(3)] public long Watermark { get; set; } = long.MinValue;
}

/// <summary>Timers as columns: key and fire time.</summary>
[GenerateSerializer]
internal sealed class KeyTimerColumns<TKey>
{
    [Id(0)] public TKey[] Keys { get; set; } = [];

    [Id(1)] public long[] Times { get; set; } = [];
}
