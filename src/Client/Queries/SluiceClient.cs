using Sluice.Grains;

namespace Sluice.Queries;

/// <summary>Answers <see cref="ISluiceClient"/> queries with calls to the cluster's pipeline and state query grains.</summary>
internal sealed class SluiceClient(IClusterClient cluster) : ISluiceClient
{
    public Task<PipelineStatus> GetPipelineAsync(string pipelineId, CancellationToken ct = default)
    {
        PipelineIds.Validate(pipelineId, nameof(pipelineId));
        ct.ThrowIfCancellationRequested();

        return cluster.GetGrain<IPipelineGrain>(pipelineId).GetStatusAsync().WaitAsync(ct);
    }

    public async Task<StateQueryResult<TValue>> QueryAsync<TKey, TValue>(string pipelineId, string stateName, TKey key, CancellationToken ct = default)
        where TKey : notnull
    {
        PipelineIds.Validate(pipelineId, nameof(pipelineId));
        QueryableNames.Validate(stateName, nameof(stateName));
        ArgumentNullException.ThrowIfNull(key);
        ct.ThrowIfCancellationRequested();

        var answer = await cluster.GetGrain<IStateQueryGrain>(pipelineId).QueryAsync(stateName, key).WaitAsync(ct);
        return answer.As<TValue>(pipelineId, stateName);
    }

    public async Task<IReadOnlyList<StateQueryResult<TValue>>> QueryManyAsync<TKey, TValue>(
        string pipelineId, string stateName, IReadOnlyList<TKey> keys, CancellationToken ct = default)
        where TKey : notnull
    {
        PipelineIds.Validate(pipelineId, nameof(pipelineId));
        QueryableNames.Validate(stateName, nameof(stateName));
        ArgumentNullException.ThrowIfNull(keys);
        ct.ThrowIfCancellationRequested();
        if (keys.Count == 0)
        {
            return [];
        }

        var boxed = new object[keys.Count];
        for (var i = 0; i < boxed.Length; i++)
        {
            boxed[i] = keys[i] ?? throw new ArgumentException($"Key {i} is null; keys are never null.", nameof(keys));
        }

        var answers = await cluster.GetGrain<IStateQueryGrain>(pipelineId).QueryManyAsync(stateName, boxed).WaitAsync(ct);
        var results = new StateQueryResult<TValue>[answers.Count];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = answers[i].As<TValue>(pipelineId, stateName);
        }

        return results;
    }
}
