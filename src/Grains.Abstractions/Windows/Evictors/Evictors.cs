namespace Sluice.Windows;

/// <summary>
/// The built-in evictors: one eviction, run either before the window function or after it (<c>evictAfter</c>), as chosen
/// when the evictor is created (Flink's <c>doEvictAfter</c>). Only the evictors of <see cref="Evictor"/> derive from it;
/// implement <see cref="IEvictor{T}"/> for an evictor of your own.
/// </summary>
public abstract class PhasedEvictor<T> : IEvictor<T>
{
    private readonly bool _after;

    private protected PhasedEvictor(bool evictAfter) => _after = evictAfter;

    public void EvictBefore(List<TimestampedValue<T>> elements, TimeWindow window, IEvictorContext context)
    {
        if (!_after)
        {
            Evict(elements);
        }
    }

    public void EvictAfter(List<TimestampedValue<T>> elements, TimeWindow window, IEvictorContext context)
    {
        if (_after)
        {
            Evict(elements);
        }
    }

    private protected abstract void Evict(List<TimestampedValue<T>> elements);
}

/// <summary>Keeps at most <see cref="MaxCount"/> records, dropping the oldest arrivals (Flink's <c>CountEvictor</c>).</summary>
public sealed class CountEvictor<T> : PhasedEvictor<T>
{
    internal CountEvictor(long maxCount, bool evictAfter)
        : base(evictAfter)
    {
        if (maxCount <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxCount), maxCount, "CountEvictor needs a positive count.");
        }

        MaxCount = maxCount;
    }

    public long MaxCount { get; }

    private protected override void Evict(List<TimestampedValue<T>> elements)
    {
        if (elements.Count > MaxCount)
        {
            elements.RemoveRange(0, elements.Count - (int)MaxCount);
        }
    }
}

/// <summary>
/// Keeps the records within <see cref="WindowSize"/> of the window's newest record: drops those with a timestamp at or
/// before <c>max timestamp - size</c> (Flink's <c>TimeEvictor</c>).
/// </summary>
public sealed class TimeEvictor<T> : PhasedEvictor<T>
{
    internal TimeEvictor(long windowSize, bool evictAfter)
        : base(evictAfter)
    {
        if (windowSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(windowSize), windowSize, "TimeEvictor needs a size of zero or more.");
        }

        WindowSize = windowSize;
    }

    /// <summary>In ms.</summary>
    public long WindowSize { get; }

    private protected override void Evict(List<TimestampedValue<T>> elements)
    {
        if (elements.Count == 0)
        {
            return;
        }

        var max = long.MinValue;
        foreach (var element in elements)
        {
            max = Math.Max(max, element.Timestamp);
        }

        var cutoff = max - WindowSize;
        var kept = 0;
        for (var i = 0; i < elements.Count; i++)
        {
            if (elements[i].Timestamp > cutoff)
            {
                elements[kept++] = elements[i];
            }
        }

        elements.RemoveRange(kept, elements.Count - kept);
    }
}

/// <summary>
/// Drops the records whose delta to the window's last record is at or above <see cref="Threshold"/> (Flink's
/// <c>DeltaEvictor</c>).
/// </summary>
public sealed class DeltaEvictor<T> : PhasedEvictor<T>
{
    private readonly Func<T, T, double> _delta;

    internal DeltaEvictor(double threshold, Func<T, T, double> delta, bool evictAfter)
        : base(evictAfter)
    {
        ArgumentNullException.ThrowIfNull(delta);
        Threshold = threshold;
        _delta = delta;
    }

    public double Threshold { get; }

    private protected override void Evict(List<TimestampedValue<T>> elements)
    {
        if (elements.Count == 0)
        {
            return;
        }

        var last = elements[^1].Value;
        var kept = 0;
        for (var i = 0; i < elements.Count; i++)
        {
            if (_delta(elements[i].Value, last) < Threshold)
            {
                elements[kept++] = elements[i];
            }
        }

        elements.RemoveRange(kept, elements.Count - kept);
    }
}

/// <summary>Creates the built-in evictors; <c>evictAfter</c> runs them after the window function instead of before.</summary>
public static class Evictor
{
    /// <summary>Keeps the newest <paramref name="maxCount"/> records.</summary>
    public static CountEvictor<T> Count<T>(long maxCount, bool evictAfter = false) => new(maxCount, evictAfter);

    /// <summary>Keeps the records within <paramref name="size"/> of the newest one.</summary>
    public static TimeEvictor<T> Time<T>(TimeSpan size, bool evictAfter = false) => new((long)size.TotalMilliseconds, evictAfter);

    /// <summary>Drops records whose <paramref name="delta"/> to the last record reaches <paramref name="threshold"/>.</summary>
    public static DeltaEvictor<T> Delta<T>(double threshold, Func<T, T, double> delta, bool evictAfter = false) => new(threshold, delta, evictAfter);
}
