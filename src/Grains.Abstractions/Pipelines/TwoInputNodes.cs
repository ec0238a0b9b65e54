using Sluice.ProcessFunctions;
using Sluice.State;

namespace Sluice.Pipelines;

/// <summary>
/// A keyed co-process stage: both inputs are partitioned by their own key selector into the same key groups
/// (<see cref="KeyBy1"/> and <see cref="KeyBy2"/> have the same key type and number of groups).
/// </summary>
internal sealed class CoProcessNode<TIn1, TIn2, TKey, TOut>(
    Pipeline pipeline,
    KeyByNode<TIn1, TKey> keyBy1,
    KeyByNode<TIn2, TKey> keyBy2,
    string name,
    Func<KeyedCoProcessFunction<TKey, TIn1, TIn2, TOut>> createFunction)
    : StreamNode(pipeline, keyBy1, name), IKeyedNode, ISideOutputSource
    where TKey : notnull
{
    public KeyByNode<TIn1, TKey> KeyBy1 { get; } = keyBy1;

    public KeyByNode<TIn2, TKey> KeyBy2 { get; } = keyBy2;

    StreamNode IKeyedNode.KeyByNode => KeyBy1;

    public override StreamNode SecondInput => KeyBy2;

    public Func<KeyedCoProcessFunction<TKey, TIn1, TIn2, TOut>> CreateFunction { get; } = createFunction;

    public override Type OutputType => typeof(TOut);

    public override TResult Accept<TResult>(IStreamNodeVisitor<TResult> visitor) => visitor.VisitCoProcess(this);
}

/// <summary>A partitioning that sends every record to every task of the stage that reads it (Flink's broadcast partitioner).</summary>
internal interface IBroadcastNode
{
    IReadOnlyList<StateDescriptor> Descriptors { get; }
}

/// <summary>A stream sent to every key group of the stage that reads it, with the broadcast states it fills.</summary>
internal sealed class BroadcastNode<T>(Pipeline pipeline, StreamNode input, IReadOnlyList<StateDescriptor> descriptors)
    : StreamNode(pipeline, input, "broadcast"), IBroadcastNode
{
    public IReadOnlyList<StateDescriptor> Descriptors { get; } = descriptors;

    public override Type OutputType => typeof(T);

    public override TResult Accept<TResult>(IStreamNodeVisitor<TResult> visitor) => visitor.VisitBroadcast(this);
}

/// <summary>A keyed stage with a broadcast second input: keyed records per key group, broadcast records in every key group.</summary>
internal sealed class BroadcastProcessNode<TIn, TKey, TBroadcast, TOut>(
    Pipeline pipeline,
    KeyByNode<TIn, TKey> keyBy,
    BroadcastNode<TBroadcast> broadcast,
    string name,
    Func<KeyedBroadcastProcessFunction<TKey, TIn, TBroadcast, TOut>> createFunction)
    : StreamNode(pipeline, keyBy, name), IKeyedNode, ISideOutputSource
    where TKey : notnull
{
    public KeyByNode<TIn, TKey> KeyBy { get; } = keyBy;

    public BroadcastNode<TBroadcast> Broadcast { get; } = broadcast;

    StreamNode IKeyedNode.KeyByNode => KeyBy;

    public override StreamNode SecondInput => Broadcast;

    public Func<KeyedBroadcastProcessFunction<TKey, TIn, TBroadcast, TOut>> CreateFunction { get; } = createFunction;

    public override Type OutputType => typeof(TOut);

    public override TResult Accept<TResult>(IStreamNodeVisitor<TResult> visitor) => visitor.VisitBroadcastProcess(this);
}
