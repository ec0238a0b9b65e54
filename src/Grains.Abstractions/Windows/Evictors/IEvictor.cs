namespace Sluice.Windows;

/// <summary>A record of a window with its timestamp, as an evictor sees it (Flink's <c>TimestampedValue</c>).</summary>
[GenerateSerializer]
public readonly record struct TimestampedValue<T>([property: Id(0)] T Value, [property: Id(1)] long Timestamp);

/// <summary>Clocks an evictor may read.</summary>
public interface IEvictorContext
{
    long CurrentWatermark { get; }

    long CurrentProcessingTime { get; }
}

/// <summary>
/// Removes records from a window when it fires (Flink's <c>Evictor</c>): <see cref="EvictBefore"/> before the window
/// function sees them, <see cref="EvictAfter"/> after. <paramref name="elements"/> are the window's records in arrival
/// order; remove from the list what should go. What stays is kept for the window's next firing. A window with an
/// evictor keeps every record in the state backend (no incremental aggregation), as in Flink.
/// </summary>
public interface IEvictor<T>
{
    void EvictBefore(List<TimestampedValue<T>> elements, TimeWindow window, IEvictorContext context);

    void EvictAfter(List<TimestampedValue<T>> elements, TimeWindow window, IEvictorContext context);
}
