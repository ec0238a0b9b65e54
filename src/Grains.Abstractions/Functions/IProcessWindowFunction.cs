using Sluice.State;
using Sluice.Windows;

namespace Sluice.Functions;

/// <summary>
/// Full window function (Flink's <c>ProcessWindowFunction</c>): sees every element of a fired window
/// (or the single pre-aggregated result when combined with an aggregate) plus the window's metadata.
/// </summary>
public interface IProcessWindowFunction<TIn, out TOut, in TKey>
{
    void Process(TKey key, WindowContext context, IReadOnlyList<TIn> elements, ICollector<TOut> output);
}

/// <summary>What a window function may know when its window fires.</summary>
public readonly record struct WindowContext(TimeWindow Window, long CurrentWatermark, long CurrentProcessingTime)
{
    /// <summary>
    /// Which firing of the window this is: early (before the watermark reached its end), on time, or a late update within
    /// the allowed lateness that re-emits the window's updated result (a sink keyed by key and window can upsert it).
    /// </summary>
    public WindowFiring Firing { get; init; }

    /// <summary>
    /// State of the current key in this window (Flink's <c>windowState()</c>): kept across the window's firings (early,
    /// on time, late) and cleared with the window when it is cleaned up (at <c>end - 1 + allowed lateness</c>; never for
    /// global windows). Not available for merging windows (sessions), as in Flink.
    /// </summary>
    public IKeyedRuntimeContext WindowState
    {
        get => field ?? throw new InvalidOperationException("This window context carries no window state.");
        init;
    }

    /// <summary>State of the current key across all its windows (Flink's <c>globalState()</c>); never cleared by windows.</summary>
    public IKeyedRuntimeContext GlobalState
    {
        get => field ?? throw new InvalidOperationException("This window context carries no global state.");
        init;
    }
}

/// <summary>Why a window fired (Beam's pane timing; Flink leaves it implicit).</summary>
public enum WindowFiring
{
    /// <summary>The watermark reached the window's end: its first complete result.</summary>
    OnTime,

    /// <summary>A trigger fired before the watermark reached the window's end (count, continuous, custom triggers).</summary>
    Early,

    /// <summary>A record within the allowed lateness changed a window that had fired: its updated result.</summary>
    Late,
}
