using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Time;
using Sluice.Windows;

namespace Sluice.Pipelines;

/// <summary>
/// One transformation of the logical graph the builder records. Nodes are generic so the engine can build
/// typed operators through <see cref="IStreamNodeVisitor{TResult}"/> without reflection.
/// </summary>
internal abstract class StreamNode(Pipeline pipeline, StreamNode? input, string name)
{
    public Pipeline Pipeline { get; } = pipeline;

    public StreamNode? Input { get; } = input;

    /// <summary>The other input of a two-input node (a co-process or broadcast process stage); null for every other node.</summary>
    public virtual StreamNode? SecondInput => null;

    public string Name { get; } = name;

    /// <summary>This operator's own <see cref="ErrorPolicy"/> (<c>DataStream.OnError</c>); null: the pipeline's.</summary>
    public ErrorPolicy? OnError { get; set; }

    public abstract Type OutputType { get; }

    public abstract TResult Accept<TResult>(IStreamNodeVisitor<TResult> visitor);

    public override string ToString() => Name;
}

internal interface IStreamNodeVisitor<out TResult>
{
    TResult VisitSource<T>(SourceNode<T> node);

    TResult VisitMap<TIn, TOut>(MapNode<TIn, TOut> node);

    TResult VisitFilter<T>(FilterNode<T> node);

    TResult VisitFlatMap<TIn, TOut>(FlatMapNode<TIn, TOut> node);

    TResult VisitTimestamps<T>(TimestampsNode<T> node);

    TResult VisitKeyBy<T, TKey>(KeyByNode<T, TKey> node) where TKey : notnull;

    TResult VisitWindow<TIn, TKey, TAcc, TResult1, TOut>(WindowNode<TIn, TKey, TAcc, TResult1, TOut> node) where TKey : notnull;

    TResult VisitProcess<TIn, TKey, TOut>(ProcessNode<TIn, TKey, TOut> node) where TKey : notnull;

    TResult VisitSideOutput<T>(SideOutputNode<T> node);

    TResult VisitCoProcess<TIn1, TIn2, TKey, TOut>(CoProcessNode<TIn1, TIn2, TKey, TOut> node) where TKey : notnull;

    TResult VisitBroadcast<T>(BroadcastNode<T> node);

    TResult VisitBroadcastProcess<TIn, TKey, TBroadcast, TOut>(BroadcastProcessNode<TIn, TKey, TBroadcast, TOut> node) where TKey : notnull;

    TResult VisitSink<T>(SinkNode<T> node);
}

/// <summary>Type-free facts about nodes that the planner needs.</summary>
internal interface ISourceNode
{
    int Partitions { get; }

    bool CarriesWatermarks { get; }
}

internal interface IKeyByNode
{
    int MaxParallelism { get; }
}

/// <summary>A node that starts a keyed stage: it runs per key group behind its <c>KeyBy</c>.</summary>
internal interface IKeyedNode
{
    StreamNode KeyByNode { get; }
}

internal interface IWindowNode : IKeyedNode
{
    WindowAssigner Assigner { get; }
}

internal interface ISinkNode
{
    int Parallelism { get; }

    /// <summary>The sink's definition (a <c>SinkDefinition&lt;T&gt;</c>).</summary>
    object Definition { get; }
}

/// <summary>Stateless, chainable transformations (map, filter, flat map, timestamps).</summary>
internal interface IStatelessNode;

/// <summary>Where timestamps and watermarks are assigned.</summary>
internal interface ITimestampsNode : IStatelessNode;

internal sealed class SourceNode<T>(Pipeline pipeline, SourceDefinition<T> source)
    : StreamNode(pipeline, null, source.Name), ISourceNode
{
    public int Partitions => Source.Partitions;

    public bool CarriesWatermarks => Source.CarriesWatermarks;

    public SourceDefinition<T> Source { get; } = source;

    public override Type OutputType => typeof(T);

    public override TResult Accept<TResult>(IStreamNodeVisitor<TResult> visitor) => visitor.VisitSource(this);
}

internal sealed class MapNode<TIn, TOut>(Pipeline pipeline, StreamNode input, string name, Func<TIn, TOut> map)
    : StreamNode(pipeline, input, name), IStatelessNode
{
    public Func<TIn, TOut> Map { get; } = map;

    public override Type OutputType => typeof(TOut);

    public override TResult Accept<TResult>(IStreamNodeVisitor<TResult> visitor) => visitor.VisitMap(this);
}

internal sealed class FilterNode<T>(Pipeline pipeline, StreamNode input, string name, Func<T, bool> predicate)
    : StreamNode(pipeline, input, name), IStatelessNode
{
    public Func<T, bool> Predicate { get; } = predicate;

    public override Type OutputType => typeof(T);

    public override TResult Accept<TResult>(IStreamNodeVisitor<TResult> visitor) => visitor.VisitFilter(this);
}

internal sealed class FlatMapNode<TIn, TOut>(Pipeline pipeline, StreamNode input, string name, Action<TIn, ICollector<TOut>> flatMap)
    : StreamNode(pipeline, input, name), IStatelessNode
{
    public Action<TIn, ICollector<TOut>> FlatMap { get; } = flatMap;

    public override Type OutputType => typeof(TOut);

    public override TResult Accept<TResult>(IStreamNodeVisitor<TResult> visitor) => visitor.VisitFlatMap(this);
}

internal sealed class TimestampsNode<T>(Pipeline pipeline, StreamNode input, Func<T, long> extractor, WatermarkStrategy strategy)
    : StreamNode(pipeline, input, "timestamps"), ITimestampsNode
{
    public Func<T, long> Extractor { get; } = extractor;

    public WatermarkStrategy Strategy { get; } = strategy;

    public override Type OutputType => typeof(T);

    public override TResult Accept<TResult>(IStreamNodeVisitor<TResult> visitor) => visitor.VisitTimestamps(this);
}

internal sealed class KeyByNode<T, TKey>(Pipeline pipeline, StreamNode input, Func<T, TKey> selector, int maxParallelism)
    : StreamNode(pipeline, input, "keyBy"), IKeyByNode
    where TKey : notnull
{
    public Func<T, TKey> Selector { get; } = selector;

    public int MaxParallelism { get; } = maxParallelism;

    public override Type OutputType => typeof(T);

    public override TResult Accept<TResult>(IStreamNodeVisitor<TResult> visitor) => visitor.VisitKeyBy(this);
}

/// <summary>
/// A keyed window: records are folded into one accumulator per key and window by <see cref="Aggregate"/>,
/// and a fired window's result goes through <see cref="Emit"/> (a plain result, or a process window function).
/// </summary>
internal sealed class WindowNode<TIn, TKey, TAcc, TResult, TOut>(
    Pipeline pipeline,
    KeyByNode<TIn, TKey> input,
    string name,
    WindowAssigner assigner,
    Trigger trigger,
    IAggregateFunction<TIn, TAcc, TResult> aggregate,
    IProcessWindowFunction<TResult, TOut, TKey>? windowFunction,
    bool accumulatorIsBuffer)
    : StreamNode(pipeline, input, name), IWindowNode, ISideOutputSource
    where TKey : notnull
{
    public KeyByNode<TIn, TKey> KeyBy { get; } = input;

    StreamNode IKeyedNode.KeyByNode => KeyBy;

    public WindowAssigner Assigner { get; } = assigner;

    public Trigger Trigger { get; } = trigger;

    public IAggregateFunction<TIn, TAcc, TResult> Aggregate { get; } = aggregate;

    /// <summary>Null: the aggregate's result is the output (TResult == TOut).</summary>
    public IProcessWindowFunction<TResult, TOut, TKey>? WindowFunction { get; } = windowFunction;

    /// <summary>True when the accumulator buffers every record (Process), which matters for state size reporting.</summary>
    public bool AccumulatorIsBuffer { get; } = accumulatorIsBuffer;

    /// <summary>How long (ms) after its end an event-time window keeps its state and re-fires for late records (Flink's allowed lateness).</summary>
    public long AllowedLateness { get; init; }

    /// <summary>Where records that are late for all their windows go; null: they are dropped and counted.</summary>
    public OutputTag<TIn>? LateDataTag { get; init; }

    /// <summary>Removes records before/after the function; with one the window keeps every record (Flink's evicting window operator).</summary>
    public IEvictor<TIn>? Evictor { get; init; }

    public override Type OutputType => typeof(TOut);

    public override TResult1 Accept<TResult1>(IStreamNodeVisitor<TResult1> visitor) => visitor.VisitWindow(this);
}

internal sealed class SinkNode<T>(Pipeline pipeline, StreamNode input, SinkDefinition<T> sink)
    : StreamNode(pipeline, input, sink.Name), ISinkNode
{
    public int Parallelism => Sink.Parallelism;

    public SinkDefinition<T> Sink { get; } = sink;

    public object Definition => Sink;

    public override Type OutputType => typeof(T);

    public override TResult Accept<TResult>(IStreamNodeVisitor<TResult> visitor) => visitor.VisitSink(this);
}
