namespace Sluice.Windows;

/// <summary>
/// Session windows (Flink's <c>EventTimeSessionWindows</c> / <c>ProcessingTimeSessionWindows</c>): a record at t opens
/// the window <c>[t, t + gap)</c>, and windows of a key that overlap or touch merge, so a session ends after a gap
/// without records. Merged sessions keep one accumulator (their contents are merged in the state backend).
/// </summary>
public sealed class Session : MergingWindowAssigner
{
    private Session(long gap, bool eventTime)
    {
        if (gap <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(gap), gap, "Session window gap must be positive (Flink: 'gap must be > 0').");
        }

        Gap = gap;
        IsEventTime = eventTime;
    }

    /// <summary>The static gap in ms.</summary>
    public long Gap { get; }

    public override bool IsEventTime { get; }

    public override int MaxWindowsPerRecord => 1;

    public override Trigger DefaultTrigger => IsEventTime ? EventTimeTrigger.Instance : ProcessingTimeTrigger.Instance;

    /// <summary>Event-time sessions that end after <paramref name="gap"/> without records.</summary>
    public static Session WithGap(TimeSpan gap) => new((long)gap.TotalMilliseconds, eventTime: true);

    /// <summary>Processing-time sessions that end after <paramref name="gap"/> without records.</summary>
    public static Session WithProcessingTimeGap(TimeSpan gap) => new((long)gap.TotalMilliseconds, eventTime: false);

    /// <summary>Event-time sessions whose gap each record chooses (Flink's <c>DynamicEventTimeSessionWindows</c>).</summary>
    public static DynamicSession<T> WithDynamicGap<T>(ISessionGapExtractor<T> extractor) => new(extractor, eventTime: true);

    /// <summary>Event-time sessions whose gap each record chooses.</summary>
    public static DynamicSession<T> WithDynamicGap<T>(Func<T, TimeSpan> extractor) => new(new FuncGapExtractor<T>(extractor), eventTime: true);

    /// <summary>Processing-time sessions whose gap each record chooses (Flink's <c>DynamicProcessingTimeSessionWindows</c>).</summary>
    public static DynamicSession<T> WithDynamicProcessingTimeGap<T>(ISessionGapExtractor<T> extractor) => new(extractor, eventTime: false);

    public override int AssignWindows(long timestamp, long currentProcessingTime, Span<TimeWindow> destination)
    {
        var start = IsEventTime ? timestamp : currentProcessingTime;
        destination[0] = new TimeWindow(start, start + Gap);
        return 1;
    }

    public override string ToString() => $"Session(gap {Gap} ms{(IsEventTime ? string.Empty : ", processing time")})";

    private sealed class FuncGapExtractor<T>(Func<T, TimeSpan> extract) : ISessionGapExtractor<T>
    {
        public TimeSpan Extract(T element) => extract(element);
    }
}

/// <summary>Session windows whose gap comes from each record; a gap of zero or less fails the record's task, as in Flink.</summary>
public sealed class DynamicSession<T> : MergingWindowAssigner, IElementWindowAssigner<T>
{
    private readonly ISessionGapExtractor<T> _extractor;

    internal DynamicSession(ISessionGapExtractor<T> extractor, bool eventTime)
    {
        ArgumentNullException.ThrowIfNull(extractor);
        _extractor = extractor;
        IsEventTime = eventTime;
    }

    public override bool IsEventTime { get; }

    public override int MaxWindowsPerRecord => 1;

    public override Trigger DefaultTrigger => IsEventTime ? EventTimeTrigger.Instance : ProcessingTimeTrigger.Instance;

    /// <summary>Without the record no gap is known: the operator always calls the element overload.</summary>
    public override int AssignWindows(long timestamp, long currentProcessingTime, Span<TimeWindow> destination) =>
        throw new InvalidOperationException("Dynamic session windows need the record to choose their gap.");

    public int AssignWindows(T element, long timestamp, long currentProcessingTime, Span<TimeWindow> destination)
    {
        var gap = (long)_extractor.Extract(element).TotalMilliseconds;
        if (gap <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(element), gap, $"The session gap extractor returned {gap} ms for a record; a dynamic session gap must be positive.");
        }

        var start = IsEventTime ? timestamp : currentProcessingTime;
        destination[0] = new TimeWindow(start, start + gap);
        return 1;
    }

    public override string ToString() => $"Session(dynamic gap{(IsEventTime ? string.Empty : ", processing time")})";
}
