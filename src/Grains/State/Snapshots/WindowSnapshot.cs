namespace Sluice.State.Snapshots;

/// <summary>
/// A window operator's key group as it goes into a snapshot: its state backend's snapshot (the window contents), the
/// pending event- and processing-time timers, and the watermark. Column arrays, so the Orleans codecs write them
/// without per-entry objects.
/// </summary>
[GenerateSerializer]
internal sealed class WindowSnapshot<TKey>
{
    [Id(0)] public KeyedStateSnapshot State { get; set; } = KeyedStateSnapshot.Empty;

    [Id(1)] public TimerColumns<TKey> EventTimers { get; set; } = new();

    [Id(2)] public TimerColumns<TKey> ProcessingTimers { get; set; } = new();

    [Id(3)] public long Watermark { get; set; } = long.MinValue;
}

/// <summary>Timers as columns: scope key, scope window and fire time.</summary>
[GenerateSerializer]
internal sealed class TimerColumns<TKey>
{
    [Id(0)] public TKey[] Keys { get; set; } = [];

    [Id(1)] public long[] WindowStarts { get; set; } = [];

    [Id(2)] public long[] WindowEnds { get; set; } = [];

    [Id(3)] public long[] Times { get; set; } = [];
}
