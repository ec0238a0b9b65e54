namespace Sluice.Queries;

/// <summary>
/// Routes live state queries of one pipeline (key: the pipeline id) to the key-group grains owning the keys, hashing
/// each key as the engine does. A stateless worker on every silo; clients use <c>ISluiceClient.QueryAsync</c>.
/// </summary>
public interface IStateQueryGrain : IGrainWithStringKey
{
    /// <summary>The value of <paramref name="key"/> in queryable state <paramref name="stateName"/>.</summary>
    /// <exception cref="PipelineNotFoundException">No such pipeline.</exception>
    /// <exception cref="QueryableStateNotFoundException">No such queryable state.</exception>
    /// <exception cref="QueryableStateTypeException">The key is not of the state's key type.</exception>
    /// <exception cref="KeyGroupRestoringException">The key's group is restoring; retry.</exception>
    Task<StateQueryAnswer> QueryAsync(string stateName, object key);

    /// <summary>Answers for several keys, in their order; one call per key group involved.</summary>
    Task<IReadOnlyList<StateQueryAnswer>> QueryManyAsync(string stateName, IReadOnlyList<object> keys);

    /// <summary>As <see cref="QueryAsync"/> with the key as text, parsed as the state's key type (strings, numbers, Guids, enums).</summary>
    Task<StateQueryAnswer> QueryTextAsync(string stateName, string key);
}
