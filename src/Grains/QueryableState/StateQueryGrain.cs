using Orleans.Concurrency;
using Sluice.KeyGroups;
using Sluice.Checkpointing;
using Sluice.Pipelines;
using Sluice.Queries;

namespace Sluice.QueryableState;

/// <summary>
/// Routes a pipeline's live state queries (Flink's queryable state client proxy): finds the keyed stage holding the named
/// state, hashes each key to its key group as the engine does, asks each key group involved once (in parallel) and adds
/// the pipeline's last completed checkpoint. A stateless worker, so every silo answers the queries that reach it.
/// </summary>
[StatelessWorker]
internal sealed class StateQueryGrain(PipelineRegistry registry, IServiceProvider services) : Grain, IStateQueryGrain
{
    // Keyed stages by index, made on first use; and the stage found to hold each queryable name.
    private IStageKeys[]? _stages;
    private readonly Dictionary<string, IStageKeys> _located = new(StringComparer.Ordinal);

    private string PipelineId => this.GetPrimaryKeyString();

    public async Task<StateQueryAnswer> QueryAsync(string stateName, object key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return (await QueryManyAsync(stateName, [key]))[0];
    }

    public async Task<StateQueryAnswer> QueryTextAsync(string stateName, string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var stage = await LocateAsync(stateName);
        if (!stage.TryParse(key, out var parsed))
        {
            throw new QueryableStateTypeException(
                $"Queryable state '{stateName}' of pipeline '{PipelineId}' has keys of type {stage.KeyType}; \"{key}\" is not one "
                + "(keys given as text can be strings, numbers, Guids and enum names).");
        }

        return (await QueryAsync(stage, stateName, [parsed]))[0];
    }

    public async Task<IReadOnlyList<StateQueryAnswer>> QueryManyAsync(string stateName, IReadOnlyList<object> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var stage = await LocateAsync(stateName);
        foreach (var key in keys)
        {
            if (key is null || !stage.Accepts(key))
            {
                throw new QueryableStateTypeException(
                    $"Queryable state '{stateName}' of pipeline '{PipelineId}' has keys of type {stage.KeyType}; the query's key "
                    + $"{(key is null ? "is null" : $"'{key}' is a {key.GetType()}")}.");
            }
        }

        return await QueryAsync(stage, stateName, keys);
    }

    private async Task<StateQueryAnswer[]> QueryAsync(IStageKeys stage, string stateName, IReadOnlyList<object> keys)
    {
        // Group the keys by key group: one call per key group, whatever the number of keys.
        var groups = new Dictionary<int, List<int>>();
        for (var i = 0; i < keys.Count; i++)
        {
            var group = stage.KeyGroupOf(keys[i]);
            if (!groups.TryGetValue(group, out var positions))
            {
                groups[group] = positions = [];
            }

            positions.Add(i);
        }

        var calls = new List<(int Group, List<int> Positions, Task<KeyGroupQueryAnswer> Answer)>(groups.Count);
        foreach (var (group, positions) in groups)
        {
            var groupKeys = new object[positions.Count];
            for (var i = 0; i < groupKeys.Length; i++)
            {
                groupKeys[i] = keys[positions[i]];
            }

            calls.Add((group, positions, KeyGroup(stage, group).QueryStateAsync(stateName, groupKeys)));
        }

        await Task.WhenAll(calls.Select(c => (Task)c.Answer));

        // Asked only now, after every key group answered: a key group still in an attempt the coordinator has left (a silo
        // died and it has not yet heard of the restart), or in one that is ending (the restart waits out its backoff while
        // sources may still read), read state that is about to be rolled back, so it is restoring.
        var fence = await QueryFenceAsync();
        var answers = new StateQueryAnswer[keys.Count];
        foreach (var (group, positions, call) in calls)
        {
            var answer = await call;
            if (answer.Attempt < fence.Attempt || fence.Ending)
            {
                throw new KeyGroupRestoringException(PipelineId, stateName, group);
            }

            for (var i = 0; i < positions.Count; i++)
            {
                answers[positions[i]] = new StateQueryAnswer(answer.Found[i], answer.Values[i], answer.Watermark, fence.LastCompletedCheckpoint, group);
            }
        }

        return answers;
    }

    /// <summary>
    /// The keyed stage holding <paramref name="stateName"/>: found once by asking key group 0 of each keyed stage (every key
    /// group of a stage runs the same operator, so they all have the same queryable states), then remembered.
    /// </summary>
    private async Task<IStageKeys> LocateAsync(string stateName)
    {
        if (!QueryableNames.IsValid(stateName))
        {
            throw new QueryableStateNotFoundException(PipelineId, stateName ?? "", "queryable state names are 1-64 letters, digits, '-', '_' or '.'");
        }

        if (_located.TryGetValue(stateName, out var located))
        {
            return located;
        }

        foreach (var stage in Stages())
        {
            try
            {
                await KeyGroup(stage, 0).QueryStateAsync(stateName, []);
                _located[stateName] = stage;
                return stage;
            }
            catch (QueryableStateNotFoundException)
            {
                // not this stage
            }
        }

        throw new QueryableStateNotFoundException(PipelineId, stateName);
    }

    private IStageKeys[] Stages()
    {
        if (!registry.TryGet(PipelineId, out var plan))
        {
            throw new PipelineNotFoundException(PipelineId);
        }

        return _stages ??= plan.Stages
            .Where(s => s.Kind == StageKind.Keyed)
            .Select(s => StageKeysBuilder.For(s, services))
            .ToArray();
    }

    private IKeyGroupGrain KeyGroup(IStageKeys stage, int group) =>
        GrainFactory.GetGrain<IKeyGroupGrain>(PipelinePlan.TaskKey(PipelineId, stage.Stage.Index, group));

    private Task<QueryFence> QueryFenceAsync() =>
        registry.TryGet(PipelineId, out var plan) && plan.Options.CheckpointInterval is not null
            ? GrainFactory.GetGrain<ICheckpointProtocolGrain>(PipelineId).GetQueryFenceAsync()
            : Task.FromResult(new QueryFence(0, 0, Ending: false)); // no checkpoints, no restarts: every key group runs attempt 0
}
