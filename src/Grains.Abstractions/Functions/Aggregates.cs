namespace Sluice.Functions;

/// <summary>Ready-made aggregate functions for the common cases.</summary>
public static class Aggregates
{
    /// <summary>Counts records.</summary>
    public static IAggregateFunction<T, long, long> Count<T>() => CountAggregate<T>.Instance;

    /// <summary>Sums a long-valued projection of each record.</summary>
    public static IAggregateFunction<T, long, long> Sum<T>(Func<T, long> selector) => new SumAggregate<T>(selector);

    private sealed class CountAggregate<T> : IAggregateFunction<T, long, long>
    {
        public static readonly CountAggregate<T> Instance = new();
        public long CreateAccumulator() => 0;
        public long Add(T value, long accumulator) => accumulator + 1;
        public long GetResult(long accumulator) => accumulator;
        public long Merge(long a, long b) => a + b;
    }

    private sealed class SumAggregate<T>(Func<T, long> selector) : IAggregateFunction<T, long, long>
    {
        public long CreateAccumulator() => 0;
        public long Add(T value, long accumulator) => accumulator + selector(value);
        public long GetResult(long accumulator) => accumulator;
        public long Merge(long a, long b) => a + b;
    }
}
