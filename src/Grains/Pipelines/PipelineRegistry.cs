using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Sluice.Pipelines;

/// <summary>
/// The pipelines this silo can run. Pipelines are code, so every silo registers the same definitions
/// (like a job jar on every task manager); tasks look their plan up here when their grain activates.
/// </summary>
internal sealed class PipelineRegistry(ILogger<PipelineRegistry> logger)
{
    private readonly ConcurrentDictionary<string, PipelinePlan> _plans = new(StringComparer.Ordinal);

    /// <summary>Bumped on every registration so source receivers notice new pipelines cheaply.</summary>
    public int Version => Volatile.Read(ref _version);

    private int _version;

    public IEnumerable<PipelinePlan> Plans => _plans.Values;

    /// <summary>Validates, plans and registers a pipeline.</summary>
    /// <exception cref="PipelineValidationException">The definition cannot run, or its id is taken.</exception>
    public PipelinePlan Register(Pipeline pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        var plan = PipelinePlanner.Plan(pipeline);
        if (!_plans.TryAdd(pipeline.Id, plan))
        {
            throw new PipelineValidationException($"Pipeline id '{pipeline.Id}' is already registered on this silo; pipeline ids must be unique.");
        }

        Interlocked.Increment(ref _version);
        logger.LogInformation(
            "Registered pipeline {Pipeline}: {Sources} source(s), stages [{Stages}]",
            pipeline.Id,
            plan.Sources.Count,
            string.Join(", ", plan.Stages.Select(s => $"{s.Index}:{s.Name} x{s.Parallelism}")));
        return plan;
    }

    public bool TryGet(string id, out PipelinePlan plan) => _plans.TryGetValue(id, out plan!);

    public PipelinePlan Get(string id) =>
        _plans.TryGetValue(id, out var plan)
            ? plan
            : throw new KeyNotFoundException($"Pipeline '{id}' is not registered on this silo.");
}
