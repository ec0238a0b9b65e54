using Sluice.Joins;
using Sluice.Pipelines;
using Sluice.ProcessFunctions;
using Sluice.Queries;
using Sluice.State;
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
    /// Tumbling count windows (Flink's <c>countWindow(size)</c>): each key's records in groups of <paramref name="size"/>,
    /// fired and purged when a group is full; a global window with a purging <see cref="CountTrigger"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is not positive.</exception>
    public WindowedStream<T, TKey> CountWindow(long size) =>
        new(Node, GlobalWindows.Create(), PurgingTrigger.Of(CountTrigger.Of(size)));

    /// <summary>
    /// Sliding count windows (Flink's <c>countWindow(size, slide)</c>): every <paramref name="slide"/> records of a key,
    /// the window fires over its last <paramref name="size"/> records; a global window with a <see cref="CountTrigger"/>
    /// of <paramref name="slide"/> and a <see cref="CountEvictor{T}"/> of <paramref name="size"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> or <paramref name="slide"/> is not positive.</exception>
    public WindowedStream<T, TKey> CountWindow(long size, long slide) =>
        new(Node, GlobalWindows.Create(), CountTrigger.Of(slide), evictor: Evictor.Count<T>(size));

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
    /// Keeps the latest record of each key where clients can read it while the pipeline runs (Flink's
    /// <c>asQueryableState</c>): <c>ISluiceClient.QueryAsync&lt;TKey, T&gt;(pipeline, queryableStateName, key)</c>, or
    /// <c>GET /api/pipelines/{id}/state/{queryableStateName}/{key}</c>. Ends the stream like a sink: it runs as a keyed stage
    /// (one key group per grain, as windows do) whose value state is in every checkpoint. Window results per key become
    /// queryable this way: <c>windowed.Aggregate(...).KeyBy(r =&gt; r.User).AsQueryableState("clicks-1m")</c>.
    /// </summary>
    /// <param name="queryableStateName">1-64 letters, digits, '-', '_' or '.'; unique within the pipeline.</param>
    /// <param name="ttl">Optional expiry of a key's latest record (e.g. event time: keys not seen for a day are dropped).</param>
    public QueryableStateStream<TKey, T> AsQueryableState(string queryableStateName, StateTtlConfig? ttl = null)
    {
        QueryableNames.Validate(queryableStateName, nameof(queryableStateName));
        var descriptor = new ValueStateDescriptor<T>(queryableStateName) { Ttl = ttl, QueryableName = queryableStateName };
        var node = new ProcessNode<T, TKey, T>(Node.Pipeline, Node, $"queryable:{queryableStateName}", () => new LatestValueFunction<TKey, T>(descriptor));
        Node.Pipeline.AddSink(node);
        return new QueryableStateStream<TKey, T>(queryableStateName);
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
