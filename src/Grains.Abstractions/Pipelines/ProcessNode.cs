using Sluice.ProcessFunctions;

namespace Sluice.Pipelines;

/// <summary>A keyed process function stage: one function instance per key group, made by <see cref="CreateFunction"/>.</summary>
internal sealed class ProcessNode<TIn, TKey, TOut>(
    Pipeline pipeline,
    KeyByNode<TIn, TKey> input,
    string name,
    Func<KeyedProcessFunction<TKey, TIn, TOut>> createFunction)
    : StreamNode(pipeline, input, name), IKeyedNode
    where TKey : notnull
{
    public KeyByNode<TIn, TKey> KeyBy { get; } = input;

    StreamNode IKeyedNode.KeyByNode => KeyBy;

    public Func<KeyedProcessFunction<TKey, TIn, TOut>> CreateFunction { get; } = createFunction;

    public override Type OutputType => typeof(TOut);

    public override TResult Accept<TResult>(IStreamNodeVisitor<TResult> visitor) => visitor.VisitProcess(this);
}
