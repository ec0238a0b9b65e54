using Sluice.Queries;
using Sluice.State;

namespace Sluice.QueryableState;

/// <summary>The queryable keyed state of one key group's task, read by live state queries.</summary>
internal interface IQueryableStates
{
    /// <summary>True when a state of the task is queryable as <paramref name="name"/>.</summary>
    bool Has(string name);

    /// <summary>
    /// Reads <paramref name="key"/>'s value of queryable state <paramref name="name"/> without changing anything.
    /// </summary>
    /// <exception cref="QueryableStateTypeException"><paramref name="key"/> is not of the stage's key type.</exception>
    bool TryRead(string name, object key, out object? value);
}

/// <summary>Queryable state in a key group's state backend (<see cref="StateDescriptor.QueryableName"/>).</summary>
internal sealed class QueryableStates<TKey>(IKeyedStateBackend<TKey> backend) : IQueryableStates
    where TKey : notnull
{
    public bool Has(string name) => backend.QueryableNames.Contains(name);

    public bool TryRead(string name, object key, out object? value) =>
        key is TKey typed
            ? backend.TryQuery(name, typed, out value)
            : throw new QueryableStateTypeException(
                $"Queryable state '{name}' has keys of type {typeof(TKey)}; the query's key '{key}' is a {key.GetType()}.");
}
