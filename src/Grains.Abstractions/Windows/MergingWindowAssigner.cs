namespace Sluice.Windows;

/// <summary>
/// An assigner whose windows merge (Flink's <c>MergingWindowAssigner</c>): after assigning, the operator merges the
/// new window with the key's in-flight windows it intersects. Time windows intersect when they overlap or touch
/// (<c>a.Start &lt;= b.End &amp;&amp; a.End &gt;= b.Start</c>, Flink's <c>TimeWindow.intersects</c>), and merge into the
/// window covering both. Its trigger must support merging (<see cref="Trigger.CanMerge"/>).
/// </summary>
public abstract class MergingWindowAssigner : WindowAssigner
{
    /// <summary>True when <paramref name="a"/> and <paramref name="b"/> belong to one merged window.</summary>
    public virtual bool Intersects(TimeWindow a, TimeWindow b) => a.Start <= b.End && a.End >= b.Start;

    /// <summary>The window that covers both.</summary>
    public virtual TimeWindow Cover(TimeWindow a, TimeWindow b) => new(Math.Min(a.Start, b.Start), Math.Max(a.End, b.End));
}

/// <summary>An assigner that needs the record itself, not just its timestamp (a dynamic session gap).</summary>
public interface IElementWindowAssigner<in T>
{
    int AssignWindows(T element, long timestamp, long currentProcessingTime, Span<TimeWindow> destination);
}

/// <summary>Gives the session gap for one record (Flink's <c>SessionWindowTimeGapExtractor</c>); must be positive.</summary>
public interface ISessionGapExtractor<in T>
{
    TimeSpan Extract(T element);
}
