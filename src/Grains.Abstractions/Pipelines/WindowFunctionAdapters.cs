using Sluice.Functions;

namespace Sluice.Pipelines;

/// <summary>Reduce as an aggregate: the accumulator is the running value and whether there is one.</summary>
internal sealed class ReduceAggregate<T>(Func<T, T, T> reduce) : IAggregateFunction<T, (bool HasValue, T Value), T>
{
    public (bool HasValue, T Value) CreateAccumulator() => (false, default!);

    public (bool HasValue, T Value) Add(T value, (bool HasValue, T Value) accumulator) =>
        accumulator.HasValue ? (true, reduce(accumulator.Value, value)) : (true, value);

    public T GetResult((bool HasValue, T Value) accumulator) => accumulator.Value;

    public (bool HasValue, T Value) Merge((bool HasValue, T Value) a, (bool HasValue, T Value) b) =>
        !a.HasValue ? b : !b.HasValue ? a : (true, reduce(a.Value, b.Value));
}

/// <summary>A full window function's buffer as an aggregate: the accumulator holds every record.</summary>
internal sealed class BufferAggregate<T> : IAggregateFunction<T, List<T>, IReadOnlyList<T>>
{
    public static readonly BufferAggregate<T> Instance = new();

    public List<T> CreateAccumulator() => [];

    public List<T> Add(T value, List<T> accumulator)
    {
        accumulator.Add(value);
        return accumulator;
    }

    public IReadOnlyList<T> GetResult(List<T> accumulator) => accumulator;

    public List<T> Merge(List<T> a, List<T> b)
    {
        a.AddRange(b);
        return a;
    }
}

/// <summary>Unwraps the single buffered list so the user's function sees the window's records directly.</summary>
internal sealed class FlattenWindowFunction<T, TOut, TKey>(IProcessWindowFunction<T, TOut, TKey> inner)
    : IProcessWindowFunction<IReadOnlyList<T>, TOut, TKey>
{
    public void Process(TKey key, WindowContext context, IReadOnlyList<IReadOnlyList<T>> elements, ICollector<TOut> output) =>
        inner.Process(key, context, elements[0], output);
}

internal sealed class SelectorWindowFunction<TResult, TOut, TKey>(Func<TKey, Windows.TimeWindow, TResult, TOut> selector)
    : IProcessWindowFunction<TResult, TOut, TKey>
{
    public void Process(TKey key, WindowContext context, IReadOnlyList<TResult> elements, ICollector<TOut> output)
    {
        for (var i = 0; i < elements.Count; i++)
        {
            output.Collect(selector(key, context.Window, elements[i]));
        }
    }
}
