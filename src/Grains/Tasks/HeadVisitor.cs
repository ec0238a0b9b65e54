using Sluice.Pipelines;

namespace Sluice.Tasks;

/// <summary>
/// A node visitor that only accepts the nodes that start a stage it builds; every other node is a
/// planner bug and fails with the node's name.
/// </summary>
internal abstract class HeadVisitor<TResult>(string what) : IStreamNodeVisitor<TResult>
{
    public virtual TResult VisitSource<T>(SourceNode<T> node) => Unsupported(node);

    public virtual TResult VisitMap<TIn, TOut>(MapNode<TIn, TOut> node) => Unsupported(node);

    public virtual TResult VisitFilter<T>(FilterNode<T> node) => Unsupported(node);

    public virtual TResult VisitFlatMap<TIn, TOut>(FlatMapNode<TIn, TOut> node) => Unsupported(node);

    public virtual TResult VisitTimestamps<T>(TimestampsNode<T> node) => Unsupported(node);

    public virtual TResult VisitKeyBy<T, TKey>(KeyByNode<T, TKey> node)
        where TKey : notnull => Unsupported(node);

    public virtual TResult VisitWindow<TIn, TKey, TAcc, TResult1, TOut>(WindowNode<TIn, TKey, TAcc, TResult1, TOut> node)
        where TKey : notnull => Unsupported(node);

    public virtual TResult VisitProcess<TIn, TKey, TOut>(ProcessNode<TIn, TKey, TOut> node)
        where TKey : notnull => Unsupported(node);

    public virtual TResult VisitSideOutput<T>(SideOutputNode<T> node) => Unsupported(node);

    public virtual TResult VisitSink<T>(SinkNode<T> node) => Unsupported(node);

    public virtual TResult VisitCoProcess<TIn1, TIn2, TKey, TOut>(CoProcessNode<TIn1, TIn2, TKey, TOut> node)
        where TKey : notnull => Unsupported(node);

    public virtual TResult VisitBroadcast<T>(BroadcastNode<T> node) => Unsupported(node);

    public virtual TResult VisitBroadcastProcess<TIn, TKey, TBroadcast, TOut>(BroadcastProcessNode<TIn, TKey, TBroadcast, TOut> node)
        where TKey : notnull => Unsupported(node);

    private TResult Unsupported(StreamNode node) => throw new InvalidOperationException($"{what}: '{node.Name}' does not start this kind of stage.");
}
