using Sluice.Pipelines;
using Sluice.Tasks;

namespace Sluice.Sources;

/// <summary>Opens a typed partition task for a source node.</summary>
internal sealed class SourceTaskFactory(SourceTaskContext context, SourcePlan source, int partition, SourcePullContext pull)
    : HeadVisitor<ISourcePartitionTask>($"{context.Plan.Id}/{source.Name}[{partition}]")
{
    public override ISourcePartitionTask VisitSource<T>(SourceNode<T> node)
    {
        var chain = new ChainBuilder(context).ConsumersOf<T>(node);
        return new SourcePartitionTask<T>(source, partition, node.Source.OpenReader(context.Plan.Id, partition), context, pull, chain);
    }
}
