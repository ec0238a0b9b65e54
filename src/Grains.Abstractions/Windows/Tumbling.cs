namespace Sluice.Windows;

/// <summary>Fixed-size, non-overlapping windows aligned to the epoch plus an optional offset.</summary>
public sealed class Tumbling : WindowAssigner
{
    private Tumbling(long size, long offset, bool eventTime)
    {
        if (size <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "Tumbling window size must be positive.");
        }

        if (Math.Abs(offset) >= size)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, "Tumbling window offset must be smaller than its size.");
        }

        Size = size;
        Offset = offset;
        IsEventTime = eventTime;
    }

    public long Size { get; }

    public long Offset { get; }

    public override bool IsEventTime { get; }

    public override int MaxWindowsPerRecord => 1;

    public override Trigger DefaultTrigger => IsEventTime ? EventTimeTrigger.Instance : ProcessingTimeTrigger.Instance;

    /// <summary>Event-time tumbling windows of <paramref name="size"/>.</summary>
    public static Tumbling Of(TimeSpan size, TimeSpan offset = default) =>
        new((long)size.TotalMilliseconds, (long)offset.TotalMilliseconds, eventTime: true);

    /// <summary>Processing-time tumbling windows of <paramref name="size"/>.</summary>
    public static Tumbling OfProcessingTime(TimeSpan size, TimeSpan offset = default) =>
        new((long)size.TotalMilliseconds, (long)offset.TotalMilliseconds, eventTime: false);

    public override int AssignWindows(long timestamp, long currentProcessingTime, Span<TimeWindow> destination)
    {
        var time = IsEventTime ? timestamp : currentProcessingTime;
        var start = TimeWindow.StartOf(time, Offset, Size);
        destination[0] = new TimeWindow(start, start + Size);
        return 1;
    }

    public override string ToString() => $"Tumbling({Size} ms{(IsEventTime ? string.Empty : ", processing time")})";
}
