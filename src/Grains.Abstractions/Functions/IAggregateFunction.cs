namespace Sluice.Functions;

/// <summary>
/// Incremental aggregation (Flink's <c>AggregateFunction</c>): one accumulator per key and window,
/// updated per record, so a window holds O(1) state instead of its records.
/// </summary>
public interface IAggregateFunction<in TIn, TAcc, out TOut>
{
    TAcc CreateAccumulator();

    TAcc Add(TIn value, TAcc accumulator);

    TOut GetResult(TAcc accumulator);

    /// <summary>Merges two accumulators; used by merging (session) windows.</summary>
    TAcc Merge(TAcc a, TAcc b);
}
