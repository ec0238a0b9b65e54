namespace Sluice.Windows;

/// <summary>Windows of a fixed size that start every <see cref="Slide"/>; a record belongs to size/slide of them.</summary>
public sealed class Sliding : WindowAssigner
{
    private Sliding(long size, long slide, long offset, bool eventTime)
    {
        if (size <= 0 || slide <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"Sliding windows need a positive size and slide (size {size} ms, slide {slide} ms).");
        }

        if (Math.Abs(offset) >= slide)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, "Sliding window offset must be smaller than its slide.");
        }

        Size = size;
        Slide = slide;
        Offset = offset;
        IsEventTime = eventTime;
    }

    public long Size { get; }

    public long Slide { get; }

    public long Offset { get; }

    public override bool IsEventTime { get; }

    public override int MaxWindowsPerRecord => (int)((Size + Slide - 1) / Slide);

    public override Trigger DefaultTrigger => IsEventTime ? EventTimeTrigger.Instance : ProcessingTimeTrigger.Instance;

    /// <summary>Event-time sliding windows.</summary>
    public static Sliding Of(TimeSpan size, TimeSpan slide, TimeSpan offset = default) =>
        new((long)size.TotalMilliseconds, (long)slide.TotalMilliseconds, (long)offset.TotalMilliseconds, eventTime: true);

    /// <summary>Processing-time sliding windows.</summary>
    public static Sliding OfProcessingTime(TimeSpan size, TimeSpan slide, TimeSpan offset = default) =>
        new((long)size.TotalMilliseconds, (long)slide.TotalMilliseconds, (long)offset.TotalMilliseconds, eventTime: false);

    public override int AssignWindows(long timestamp, long currentProcessingTime, Span<TimeWindow> destination)
    {
        var time = IsEventTime ? timestamp : currentProcessingTime;
        var lastStart = TimeWindow.StartOf(time, Offset, Slide);
        var count = 0;
        // Same order as Flink's SlidingEventTimeWindows: latest window first.
        for (var start = lastStart; start > time - Size; start -= Slide)
        {
            destination[count++] = new TimeWindow(start, start + Size);
        }

        return count;
    }

    public override string ToString() => $"Sliding({Size} ms every {Slide} ms{(IsEventTime ? string.Empty : ", processing time")})";
}
