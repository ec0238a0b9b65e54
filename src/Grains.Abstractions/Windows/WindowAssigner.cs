namespace Sluice.Windows;

/// <summary>
/// Decides which windows a record belongs to (Flink's <c>WindowAssigner</c>). When they fire is the
/// trigger's business, what they emit the window function's.
/// </summary>
public abstract class WindowAssigner
{
    /// <summary>Upper bound on the windows one record can belong to; sizes the operator's scratch buffer.</summary>
    public abstract int MaxWindowsPerRecord { get; }

    /// <summary>True when windows are measured in event time (and so need timestamps and watermarks).</summary>
    public abstract bool IsEventTime { get; }

    /// <summary>Writes the windows for a record into <paramref name="destination"/> and returns how many.</summary>
    public abstract int AssignWindows(long timestamp, long currentProcessingTime, Span<TimeWindow> destination);

    /// <summary>The trigger used when the pipeline names none.</summary>
    public abstract Trigger DefaultTrigger { get; }
}
