using Sluice.Grains;

namespace Sluice.Queries;

/// <summary>Reads the state of pipelines running on a Sluice cluster. Register it with <c>AddSluiceClient()</c>.</summary>
public interface ISluiceClient
{
    /// <summary>The current status of one pipeline, summed over all its tasks.</summary>
    /// <param name="pipelineId">The pipeline's id: not empty and without '/'.</param>
    /// <param name="ct">Stops waiting for the answer; the grain call itself is not cancelled.</param>
    /// <exception cref="ArgumentException"><paramref name="pipelineId"/> is null, empty or contains '/'.</exception>
    Task<PipelineStatus> GetPipelineAsync(string pipelineId, CancellationToken ct = default);

    /// <summary>
    /// Reads <paramref name="key"/>'s value of the queryable state <paramref name="stateName"/> (a state descriptor's
    /// <c>QueryableName</c>, or a stream's <c>AsQueryableState</c> name) from the key-group grain holding it, with that key
    /// group's event-time watermark and the pipeline's last completed checkpoint. Read-only: it changes no state and renews
    /// no time-to-live.
    /// </summary>
    /// <typeparam name="TKey">The key type of the stage holding the state (its <c>KeyBy</c>).</typeparam>
    /// <typeparam name="TValue">T for value and reducing state (and <c>AsQueryableState</c> of a stream of T), IReadOnlyList&lt;T&gt;
    /// for list state, IReadOnlyDictionary&lt;K,V&gt; for map state, the result type for aggregating state.</typeparam>
    /// <exception cref="PipelineNotFoundException">No such pipeline is registered.</exception>
    /// <exception cref="QueryableStateNotFoundException">The pipeline has no state queryable by that name.</exception>
    /// <exception cref="QueryableStateTypeException">The key or value type does not match the state's.</exception>
    /// <exception cref="KeyGroupRestoringException">The key's group is restoring from a checkpoint, or the pipeline is restarting; retry shortly.</exception>
    Task<StateQueryResult<TValue>> QueryAsync<TKey, TValue>(string pipelineId, string stateName, TKey key, CancellationToken ct = default)
        where TKey : notnull;

    /// <summary>
    /// <see cref="QueryAsync{TKey,TValue}"/> for many keys at once, answered in the order of <paramref name="keys"/>: one
    /// call per key group involved, whatever the number of keys. Each answer carries its own key group's watermark.
    /// </summary>
    Task<IReadOnlyList<StateQueryResult<TValue>>> QueryManyAsync<TKey, TValue>(
        string pipelineId, string stateName, IReadOnlyList<TKey> keys, CancellationToken ct = default)
        where TKey : notnull;
}
