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
public readonly record struct WindowContext(TimeWindow Window, long CurrentWatermark, long CurrentProcessingTime);
