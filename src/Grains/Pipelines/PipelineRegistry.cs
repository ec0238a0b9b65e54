using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Sluice.Sinks;

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

    // External resources (a Kafka transactional id prefix) claimed by a sink, and the pipeline that holds each.
    private readonly Dictionary<string, string> _claims = new(StringComparer.Ordinal);
    private readonly Lock _claimsGate = new();

    public IEnumerable<PipelinePlan> Plans => _plans.Values;

    /// <summary>Validates, plans and registers a pipeline.</summary>
    /// <exception cref="PipelineValidationException">The definition cannot run, or its id is taken.</exception>
    public PipelinePlan Register(Pipeline pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        var plan = PipelinePlanner.Plan(pipeline);
        lock (_claimsGate)
        {
            var claims = ExclusiveClaims(plan);
            foreach (var claim in claims)
            {
                if (_claims.TryGetValue(claim.Resource, out var holder) && holder != pipeline.Id)
                {
                    throw new PipelineValidationException($"Pipeline '{pipeline.Id}': {claim.Setting} is already used by pipeline '{holder}' ({claim.Resource}); it must be unique per pipeline.");
                }
            }

            if (!_plans.TryAdd(pipeline.Id, plan))
            {
                throw new PipelineValidationException($"Pipeline id '{pipeline.Id}' is already registered on this silo; pipeline ids must be unique.");
            }

            foreach (var claim in claims)
            {
                _claims[claim.Resource] = pipeline.Id;
            }
        }

        Interlocked.Increment(ref _version);
        logger.LogInformation(
            "Registered pipeline {Pipeline}: {Sources} source(s), stages [{Stages}]",
            pipeline.Id,
            plan.Sources.Count,
            string.Join(", ", plan.Stages.Select(s => $"{s.Index}:{s.Name} x{s.Parallelism}")));
        return plan;
    }

    private static List<ExclusiveSinkClaim> ExclusiveClaims(PipelinePlan plan)
    {
        var claims = new List<ExclusiveSinkClaim>();
        foreach (var stage in plan.Stages)
        {
            if (stage.Head is ISinkNode { Definition: IExclusiveSink { ExclusiveClaim: { } claim } })
            {
                claims.Add(claim);
            }
        }

        return claims;
    }

    public bool TryGet(string id, out PipelinePlan plan) => _plans.TryGetValue(id, out plan!);

    public PipelinePlan Get(string id) =>
        _plans.TryGetValue(id, out var plan)
            ? plan
            : throw new KeyNotFoundException($"Pipeline '{id}' is not registered on this silo.");
}
