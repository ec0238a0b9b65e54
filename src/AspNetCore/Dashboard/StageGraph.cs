using Sluice.Pipelines;

namespace Sluice.Dashboard;

/// <summary>A pipeline's sources and stages and the edges between them, as the dashboard draws them.</summary>
internal sealed record StageGraph(IReadOnlyList<StageGraph.Node> Sources, IReadOnlyList<StageGraph.Node> Stages)
{
    public static StageGraph From(PipelinePlan plan) => new(
        plan.Sources.Select(s => new Node(s.Index, s.Name, "source", s.Partitions, [.. s.Targets])).ToList(),
        plan.Stages.Select(s => new Node(s.Index, s.Name, s.Kind.ToString(), s.Parallelism, [.. s.Targets])).ToList());

    /// <param name="Index">The source's or stage's index; <paramref name="Targets"/> are stage indexes.</param>
    /// <param name="Parallelism">Partitions of a source, tasks of a stage.</param>
    internal sealed record Node(int Index, string Name, string Kind, int Parallelism, IReadOnlyList<int> Targets);
}
