using Sluice.Functions;
using Sluice.State;
using Sluice.Windows;

namespace Sluice.Joins;

/// <summary>
/// One side's records per window, as the window join and the session window join keep them in map state: a count per
/// window, and the records by (window, slot) with slots <c>0..count-1</c> in arrival order, so adding a record writes two
/// entries and reads none of the others. The layout is both joins' snapshot format.
/// </summary>
internal static class WindowJoinBuffers
{
    public static void Append<T>(IMapState<TimeWindow, int> counts, IMapState<(TimeWindow Window, int Index), T> buffer, TimeWindow window, T value)
    {
        counts.TryGetValue(window, out var n);
        buffer.Put((window, n), value);
        counts.Put(window, n + 1);
    }

    /// <summary>Removes the <paramref name="count"/> records of <paramref name="window"/> and its count.</summary>
    public static void Clear<T>(IMapState<TimeWindow, int> counts, IMapState<(TimeWindow Window, int Index), T> buffer, TimeWindow window, int count)
    {
        for (var i = 0; i < count; i++)
        {
            buffer.Remove((window, i));
        }

        counts.Remove(window);
    }

    /// <summary>Moves the records of <paramref name="from"/> after those of <paramref name="to"/> (sessions merging).</summary>
    public static void Move<T>(IMapState<TimeWindow, int> counts, IMapState<(TimeWindow Window, int Index), T> buffer, TimeWindow from, TimeWindow to)
    {
        if (!counts.TryGetValue(from, out var moving))
        {
            return;
        }

        counts.TryGetValue(to, out var n);
        for (var i = 0; i < moving; i++)
        {
            buffer.TryGetValue((from, i), out var value);
            buffer.Put((to, n + i), value);
            buffer.Remove((from, i));
        }

        counts.Put(to, n + moving);
        counts.Remove(from);
    }

    /// <summary>Emits every left record of <paramref name="window"/> with every right one, left records outer, in slot order.</summary>
    public static void Cross<TLeft, TRight, TOut>(
        IMapState<(TimeWindow Window, int Index), TLeft> left, int lefts, IMapState<(TimeWindow Window, int Index), TRight> right, int rights,
        TimeWindow window, Func<TLeft, TRight, TOut> select, ICollector<TOut> output)
    {
        for (var l = 0; l < lefts && rights > 0; l++)
        {
            left.TryGetValue((window, l), out var a);
            for (var r = 0; r < rights; r++)
            {
                right.TryGetValue((window, r), out var b);
                output.Collect(select(a, b));
            }
        }
    }
}
