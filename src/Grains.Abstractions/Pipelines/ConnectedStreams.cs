using Sluice.Pipelines;
using Sluice.ProcessFunctions;

namespace Sluice;

/// <summary>Two streams connected for a two-input function (Flink's <c>ConnectedStreams</c>); key them with <see cref="KeyBy{TKey}"/>.</summary>
public sealed class ConnectedStreams<T1, T2>
{
    internal ConnectedStreams(DataStream<T1> first, DataStream<T2> second)
    {
        First = first;
        Second = second;
    }

    public DataStream<T1> First { get; }

    public DataStream<T2> Second { get; }

    /// <summary>
    /// Partitions both inputs by key into the same key groups: records of either input with equal keys meet in one key
    /// group and share its keyed state and timers.
    /// </summary>
    /// <param name="maxParallelism">Key groups of the stage; defaults to the pipeline's <see cref="PipelineOptions.MaxParallelism"/>.</param>
    public KeyedConnectedStreams<T1, T2, TKey> KeyBy<TKey>(Func<T1, TKey> keySelector1, Func<T2, TKey> keySelector2, int? maxParallelism = null)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(keySelector1);
        ArgumentNullException.ThrowIfNull(keySelector2);
        var groups = maxParallelism ?? First.Pipeline.Options.MaxParallelism;
        return new KeyedConnectedStreams<T1, T2, TKey>(
            new KeyByNode<T1, TKey>(First.Pipeline, First.Node, keySelector1, groups),
            new KeyByNode<T2, TKey>(Second.Pipeline, Second.Node, keySelector2, groups));
    }
}

/// <summary>Two streams keyed into the same key groups, ready for a <see cref="KeyedCoProcessFunction{TKey,TIn1,TIn2,TOut}"/>.</summary>
public sealed class KeyedConnectedStreams<T1, T2, TKey>
    where TKey : notnull
{
    private readonly KeyByNode<T1, TKey> _first;
    private readonly KeyByNode<T2, TKey> _second;

    internal KeyedConnectedStreams(KeyByNode<T1, TKey> first, KeyByNode<T2, TKey> second)
    {
        _first = first;
        _second = second;
    }

    /// <summary>Runs one shared instance of <paramref name="function"/>: it must keep no mutable fields (use the factory overload to hold state handles).</summary>
    public DataStream<TOut> Process<TOut>(KeyedCoProcessFunction<TKey, T1, T2, TOut> function, string name = "coprocess")
    {
        ArgumentNullException.ThrowIfNull(function);
        return Process(() => function, name);
    }

    /// <summary>Runs a function made by <paramref name="createFunction"/> for each key group (its fields are its own).</summary>
    public DataStream<TOut> Process<TOut>(Func<KeyedCoProcessFunction<TKey, T1, T2, TOut>> createFunction, string name = "coprocess")
    {
        ArgumentNullException.ThrowIfNull(createFunction);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return new DataStream<TOut>(new CoProcessNode<T1, T2, TKey, TOut>(_first.Pipeline, _first, _second, name, createFunction));
    }
}

/// <summary>A stream whose every record goes to every key group of the stage it is connected to (Flink's <c>BroadcastStream</c>).</summary>
public sealed class BroadcastStream<T>
{
    internal BroadcastStream(BroadcastNode<T> node) => Node = node;

    internal BroadcastNode<T> Node { get; }
}

/// <summary>A keyed stream connected with a broadcast stream, ready for a <see cref="KeyedBroadcastProcessFunction{TKey,TIn,TBroadcast,TOut}"/>.</summary>
public sealed class BroadcastConnectedStream<T, TKey, TBroadcast>
    where TKey : notnull
{
    private readonly KeyByNode<T, TKey> _keyed;
    private readonly BroadcastNode<TBroadcast> _broadcast;

    internal BroadcastConnectedStream(KeyByNode<T, TKey> keyed, BroadcastNode<TBroadcast> broadcast)
    {
        _keyed = keyed;
        _broadcast = broadcast;
    }

    /// <summary>Runs one shared instance of <paramref name="function"/>: it must keep no mutable fields (use the factory overload to hold state handles).</summary>
    public DataStream<TOut> Process<TOut>(KeyedBroadcastProcessFunction<TKey, T, TBroadcast, TOut> function, string name = "broadcast-process")
    {
        ArgumentNullException.ThrowIfNull(function);
        return Process(() => function, name);
    }

    /// <summary>Runs a function made by <paramref name="createFunction"/> for each key group (its fields are its own).</summary>
    public DataStream<TOut> Process<TOut>(Func<KeyedBroadcastProcessFunction<TKey, T, TBroadcast, TOut>> createFunction, string name = "broadcast-process")
    {
        ArgumentNullException.ThrowIfNull(createFunction);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return new DataStream<TOut>(new BroadcastProcessNode<T, TKey, TBroadcast, TOut>(_keyed.Pipeline, _keyed, _broadcast, name, createFunction));
    }
}
