using Sluice.Pipelines;
using Sluice.Tasks;

namespace Sluice.Sources;

/// <summary>Opens a typed partition task for a source node.</summary>
internal sealed class SourceTaskFactory(SourceTaskContext context, SourcePlan source, int partition, SourcePullContext pull)
    : IStreamNodeVisitor<ISourcePartitionTask>
{
    public ISourcePartitionTask VisitSource<T>(SourceNode<T> node)
    {
        var chain = new ChainBuilder(context).ConsumersOf<T>(node);
        return new SourcePartitionTask<T>(source, partition, node.Source.OpenReader(partition), context, pull, chain);
    }

    public ISourcePartitionTask VisitMap<TIn, TOut>(MapNode<TIn, TOut> node) => NotASource(node);

    public ISourcePartitionTask VisitFilter<T>(FilterNode<T> node) => NotASource(node);

    public ISourcePartitionTask VisitFlatMap<TIn, TOut>(FlatMapNode<TIn, TOut> node) => NotASource(node);

    public ISourcePartitionTask VisitTimestamps<T>(TimestampsNode<T> node) => NotASource(node);

    public ISourcePartitionTask VisitKeyBy<T, TKey>(KeyByNode<T, TKey> node)
        where TKey : notnull => NotASource(node);

    public ISourcePartitionTask VisitWindow<TIn, TKey, TAcc, TResult, TOut>(WindowNode<TIn, TKey, TAcc, TResult, TOut> node)
        where TKey : notnull => NotASource(node);

    public ISourcePartitionTask VisitSink<T>(SinkNode<T> node) => NotASource(node);

    private static ISourcePartitionTask NotASource(StreamNode node) => throw new InvalidOperationException($"'{node.Name}' is not a source.");
}
