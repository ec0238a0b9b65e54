using Sluice.Joins;
using Sluice.Pipelines;
using Sluice.ProcessFunctions;
using Sluice.Windows;

namespace Sluice;

/// <summary>A stream partitioned by key, ready for keyed operators.</summary>
public sealed class KeyedStream<T, TKey>
    where TKey : notnull
{
    internal KeyedStream(KeyByNode<T, TKey> node) => Node = node;

    internal KeyByNode<T, TKey> Node { get; }

    /// <summary>Groups each key's records into windows chosen by <paramref name="assigner"/>.</summary>
    public WindowedStream<T, TKey> Window(WindowAssigner assigner)
    {
        ArgumentNullException.ThrowIfNull(assigner);
        return new WindowedStream<T, TKey>(Node, assigner, assigner.DefaultTrigger);
    }

    /// <summary>
    /// Starts an interval join with <paramref name="other"/> (Flink's <c>IntervalJoin</c>): records of equal keys whose
    /// timestamps are within the bounds given next with <c>Between(lower, upper)</c> are joined.
    /// </summary>
    public IntervalJoin<T, TOther, TKey> IntervalJoin<TOther>(KeyedStream<TOther, TKey> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new IntervalJoin<T, TOther, TKey>(Node, other.Node);
    }

    /// <summary>Connects a broadcast stream: its records reach every key group, for a <see cref="KeyedBroadcastProcessFunction{TKey,TIn,TBroadcast,TOut}"/>.</summary>
    public BroadcastConnectedStream<T, TKey, TBroadcast> Connect<TBroadcast>(BroadcastStream<TBroadcast> broadcast)
    {
        ArgumentNullException.ThrowIfNull(broadcast);
        if (broadcast.Node.Pipeline != Node.Pipeline)
        {
            throw new InvalidOperationException($"The broadcast stream belongs to pipeline '{broadcast.Node.Pipeline.Id}', not '{Node.Pipeline.Id}'.");
        }

        return new BroadcastConnectedStream<T, TKey, TBroadcast>(Node, broadcast.Node);
    }

    /// <summary>
    /// Runs <paramref name="function"/> per record and per timer with keyed state and timers. The one instance serves
    /// every key group of a silo: it must keep no mutable fields (use the factory overload to hold state handles).
    /// </summary>
    public DataStream<TOut> Process<TOut>(KeyedProcessFunction<TKey, T, TOut> function, string name = "process")
    {
        ArgumentNullException.ThrowIfNull(function);
        return Process(() => function, name);
    }

    /// <summary>Runs a function made by <paramref name="createFunction"/> for each key group (its fields are its own).</summary>
    public DataStream<TOut> Process<TOut>(Func<KeyedProcessFunction<TKey, T, TOut>> createFunction, string name = "process")
    {
        ArgumentNullException.ThrowIfNull(createFunction);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return new DataStream<TOut>(new ProcessNode<T, TKey, TOut>(Node.Pipeline, Node, name, createFunction));
    }
}
