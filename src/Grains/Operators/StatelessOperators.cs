using Sluice.Functions;

namespace Sluice.Operators;

internal sealed class MapOperator<TIn, TOut>(Func<TIn, TOut> map, IRecordSink<TOut> next) : IRecordSink<TIn>
{
    public void Push(TIn value, long timestamp) => next.Push(map(value), timestamp);
}

internal sealed class FilterOperator<T>(Func<T, bool> predicate, IRecordSink<T> next) : IRecordSink<T>
{
    public void Push(T value, long timestamp)
    {
        if (predicate(value))
        {
            next.Push(value, timestamp);
        }
    }
}

/// <summary>Flat map through a collector that forwards with the input's timestamp.</summary>
internal sealed class FlatMapOperator<TIn, TOut>(Action<TIn, ICollector<TOut>> flatMap, IRecordSink<TOut> next)
    : IRecordSink<TIn>, ICollector<TOut>
{
    private long _timestamp;

    public void Push(TIn value, long timestamp)
    {
        _timestamp = timestamp;
        flatMap(value, this);
    }

    public void Collect(TOut value) => next.Push(value, _timestamp);
}
