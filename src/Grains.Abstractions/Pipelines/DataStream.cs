using Sluice.Functions;
using Sluice.Pipelines;
using Sluice.ProcessFunctions;
using Sluice.Sinks;
using Sluice.State;
using Sluice.Time;

namespace Sluice;

/// <summary>A stream of <typeparamref name="T"/> records in a pipeline under construction.</summary>
public sealed class DataStream<T>
{
    internal DataStream(StreamNode node) => Node = node;

    internal StreamNode Node { get; }

    public Pipeline Pipeline => Node.Pipeline;

    public DataStream<TOut> Map<TOut>(Func<T, TOut> map, string name = "map")
    {
        ArgumentNullException.ThrowIfNull(map);
        return new DataStream<TOut>(new MapNode<T, TOut>(Pipeline, Node, name, map));
    }

    public DataStream<T> Filter(Func<T, bool> predicate, string name = "filter")
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return new DataStream<T>(new FilterNode<T>(Pipeline, Node, name, predicate));
    }

    /// <summary>Emits zero or more records per input through the collector (no per-record enumerable).</summary>
    public DataStream<TOut> FlatMap<TOut>(Action<T, ICollector<TOut>> flatMap, string name = "flatMap")
    {
        ArgumentNullException.ThrowIfNull(flatMap);
        return new DataStream<TOut>(new FlatMapNode<T, TOut>(Pipeline, Node, name, flatMap));
    }

    /// <summary>
    /// Assigns event timestamps (milliseconds since the epoch) and generates watermarks per source partition.
    /// Must come before the first <see cref="KeyBy{TKey}"/>.
    /// </summary>
    public DataStream<T> WithTimestamps(Func<T, long> timestampExtractor, WatermarkStrategy strategy)
    {
        ArgumentNullException.ThrowIfNull(timestampExtractor);
        ArgumentNullException.ThrowIfNull(strategy);
        return new DataStream<T>(new TimestampsNode<T>(Pipeline, Node, timestampExtractor, strategy));
    }

    /// <summary>
    /// Partitions the stream by key: records with equal keys meet in the same key group (one grain).
    /// </summary>
    /// <param name="maxParallelism">Key groups of the keyed stage; defaults to the pipeline's <see cref="PipelineOptions.MaxParallelism"/>.</param>
    public KeyedStream<T, TKey> KeyBy<TKey>(Func<T, TKey> keySelector, int? maxParallelism = null)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(keySelector);
        var groups = maxParallelism ?? Pipeline.Options.MaxParallelism;
        return new KeyedStream<T, TKey>(new KeyByNode<T, TKey>(Pipeline, Node, keySelector, groups));
    }

    /// <summary>Starts a join on keys with <paramref name="other"/>: <c>Join(other).Where(key).EqualTo(otherKey)</c>, then <c>Window(...)</c> or <c>Unbounded(ttl)</c>.</summary>
    public Joins.JoinedStreams<T, T2> Join<T2>(DataStream<T2> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new Joins.JoinedStreams<T, T2>(this, other);
    }

    /// <summary>Connects this stream with <paramref name="other"/> for a two-input function; key both with <c>KeyBy(key1, key2)</c>.</summary>
    public ConnectedStreams<T, T2> Connect<T2>(DataStream<T2> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Pipeline != Pipeline)
        {
            throw new InvalidOperationException($"'{other.Node.Name}' belongs to pipeline '{other.Pipeline.Id}', not '{Pipeline.Id}'.");
        }

        return new ConnectedStreams<T, T2>(this, other);
    }

    /// <summary>
    /// Sends every record of this stream to every key group of the keyed stage it is connected to
    /// (<c>keyed.Connect(stream.Broadcast(descriptor))</c>), where they fill the broadcast states <paramref name="descriptors"/>
    /// name (each a <see cref="MapStateDescriptor{TUserKey,TUserValue}"/>).
    /// </summary>
    public BroadcastStream<T> Broadcast(params StateDescriptor[] descriptors)
    {
        ArgumentNullException.ThrowIfNull(descriptors);
        if (descriptors.Length == 0)
        {
            throw new ArgumentException("Name at least one broadcast state (a MapStateDescriptor).", nameof(descriptors));
        }

        foreach (var descriptor in descriptors)
        {
            ArgumentNullException.ThrowIfNull(descriptor, nameof(descriptors));
            if (!descriptor.GetType().IsGenericType || descriptor.GetType().GetGenericTypeDefinition() != typeof(MapStateDescriptor<,>))
            {
                throw new ArgumentException($"Broadcast state is map state: {descriptor} is not a MapStateDescriptor.", nameof(descriptors));
            }
        }

        return new BroadcastStream<T>(new BroadcastNode<T>(Pipeline, Node, descriptors));
    }

    /// <summary>
    /// How the operator that produced this stream (a <see cref="Map{TOut}"/>, <see cref="Filter"/> or <see cref="FlatMap{TOut}"/>)
    /// treats its function throwing, instead of <see cref="PipelineOptions.OnError"/>: <see cref="ErrorPolicy.Fail"/>,
    /// <see cref="ErrorPolicy.SkipAndCount"/> or <see cref="ErrorPolicy.DeadLetter{T}"/> with a tag of the operator's input type.
    /// </summary>
    /// <exception cref="InvalidOperationException">The stream is not the output of a map, filter or flat map, or the dead-letter tag's record type is not the operator's input type.</exception>
    public DataStream<T> OnError(ErrorPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (Node is not (IStatelessNode and not ITimestampsNode and not ISideOutputNode) || Node.Input is null)
        {
            throw new InvalidOperationException($"'{Node.Name}': OnError applies to the stream a Map, Filter or FlatMap returned; set PipelineOptions.OnError for the other operators.");
        }

        if (policy.RecordType is { } recordType && recordType != Node.Input.OutputType)
        {
            throw new InvalidOperationException($"'{Node.Name}' reads {Node.Input.OutputType.Name} records; its dead-letter tag carries FailedRecord<{recordType.Name}>.");
        }

        Node.OnError = policy;
        return this;
    }

    /// <summary>
    /// The records the process function behind this stream emitted to <paramref name="tag"/>, or the failed records the
    /// operator behind it sent to its dead-letter tag (<see cref="ErrorPolicy.DeadLetter{T}"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">This stream is not the output of <c>KeyedStream.Process</c> or of an operator with a dead-letter tag.</exception>
    public DataStream<TSide> SideOutput<TSide>(OutputTag<TSide> tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        if (Node is not ISideOutputSource && !(Node.OnError?.Tag is OutputTag<TSide> deadLetters && deadLetters.Equals(tag)))
        {
            throw new InvalidOperationException($"'{Node.Name}' has no side outputs: call SideOutput on the stream a KeyedStream.Process returned, or with the tag of its OnError(ErrorPolicy.DeadLetter(tag)).");
        }

        return new DataStream<TSide>(new SideOutputNode<TSide>(Pipeline, Node, tag));
    }

    /// <summary>Writes the stream to a sink; ends this branch of the pipeline.</summary>
    public Pipeline SinkTo(SinkDefinition<T> sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        Pipeline.AddSink(new SinkNode<T>(Pipeline, Node, sink));
        return Pipeline;
    }
}
