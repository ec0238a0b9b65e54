using Sluice.ProcessFunctions;

namespace Sluice.Pipelines;

/// <summary>A keyed process function stage: one function instance per key group, made by <see cref="CreateFunction"/>.</summary>
internal sealed class ProcessNode<TIn, TKey, TOut>(
    Pipeline pipeline,
    KeyByNode<TIn, TKey> input,
    string name,
    Func<KeyedProcessFunction<TKey, TIn, TOut>> createFunction)
    : StreamNode(pipeline, input, name), IKeyedNode, ISideOutputSource
    where TKey : notnull
{
    public KeyByNode<TIn, TKey> KeyBy { get; } = input;

    StreamNode IKeyedNode.KeyByNode => KeyBy;

    public Func<KeyedProcessFunction<TKey, TIn, TOut>> CreateFunction { get; } = createFunction;

    public override Type OutputType => typeof(TOut);

    public override TResult Accept<TResult>(IStreamNodeVisitor<TResult> visitor) => visitor.VisitProcess(this);
}

/// <summary>A node whose operator can emit to side outputs.</summary>
internal interface ISideOutputSource;

/// <summary>A node that reads no operator itself: it names the side output <see cref="Tag"/> of its input, a process node.</summary>
internal interface ISideOutputNode;

/// <summary>The records a process function emitted to <see cref="Tag"/>; chains like a stateless node after the process stage.</summary>
internal sealed class SideOutputNode<T>(Pipeline pipeline, StreamNode input, OutputTag<T> tag)
    : StreamNode(pipeline, input, $"{input.Name}:{tag.Id}"), IStatelessNode, ISideOutputNode
{
    public OutputTag<T> Tag { get; } = tag;

    public override Type OutputType => typeof(T);

    public override TResult Accept<TResult>(IStreamNodeVisitor<TResult> visitor) => visitor.VisitSideOutput(this);
}
