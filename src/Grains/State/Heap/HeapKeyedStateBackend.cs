using Sluice.State.Serialization;
using Sluice.State.Snapshots;

namespace Sluice.State.Heap;

/// <summary>
/// The default backend: every state is a <see cref="StateTable{TKey,TNamespace,TValue}"/> of objects on the heap of the
/// silo hosting the key group. Snapshots serialize the tables synchronously (expired entries left out).
/// </summary>
internal sealed class HeapKeyedStateBackend<TKey> : IKeyedStateBackend<TKey>
    where TKey : notnull
{
    /// <summary>Each table is a <see cref="StateTableColumns{TKey,TNamespace,TValue}"/> written by the Orleans codecs.</summary>
    public const string TableFormat = "columns:1";

    private readonly KeyContext<TKey> _key = new();
    private readonly Dictionary<string, IHeapState<TKey>> _states = new(StringComparer.Ordinal);

    // Tables of a restored snapshot whose state has not been created yet; restored when it is, snapshotted as they are.
    private readonly Dictionary<string, (string Schema, byte[] Table)> _unclaimed = new(StringComparer.Ordinal);
    private readonly IStateSerializerProvider _serializers;

    // States clients can read by key, by their queryable name.
    private readonly Dictionary<string, IHeapState<TKey>> _queryable = new(StringComparer.Ordinal);

    public HeapKeyedStateBackend(int keyGroup, IStateSerializerProvider serializers, StateTime time)
    {
        KeyGroup = keyGroup;
        _serializers = serializers;
        Time = time;
        KeySerializer = serializers.Get<TKey>();
    }

    public int KeyGroup { get; }

    public IStateSerializer<TKey> KeySerializer { get; }

    public StateTime Time { get; }

    public TKey CurrentKey => _key.Current;

    public int Entries
    {
        get
        {
            var count = 0;
            foreach (var state in _states.Values)
            {
                count += state.Count;
            }

            return count;
        }
    }

    public void SetCurrentKey(TKey key) => _key.Current = key;

    public IInternalValueState<TNamespace, T> GetValueState<TNamespace, T>(IStateSerializer<TNamespace> namespaceSerializer, ValueStateDescriptor<T> descriptor)
        where TNamespace : notnull =>
        Register(descriptor, static (d, b) => new HeapValueState<TKey, TNamespace, T>(d, b._key, b.Time, b._serializers));

    public IInternalListState<TNamespace, T> GetListState<TNamespace, T>(IStateSerializer<TNamespace> namespaceSerializer, ListStateDescriptor<T> descriptor)
        where TNamespace : notnull =>
        Register(descriptor, static (d, b) => new HeapListState<TKey, TNamespace, T>(d, b._key, b.Time, b._serializers));

    public IInternalMapState<TNamespace, TUserKey, TUserValue> GetMapState<TNamespace, TUserKey, TUserValue>(
        IStateSerializer<TNamespace> namespaceSerializer, MapStateDescriptor<TUserKey, TUserValue> descriptor)
        where TNamespace : notnull
        where TUserKey : notnull =>
        Register(descriptor, static (d, b) => new HeapMapState<TKey, TNamespace, TUserKey, TUserValue>(d, b._key, b.Time, b._serializers));

    public IInternalReducingState<TNamespace, T> GetReducingState<TNamespace, T>(IStateSerializer<TNamespace> namespaceSerializer, ReducingStateDescriptor<T> descriptor)
        where TNamespace : notnull =>
        Register(descriptor, static (d, b) => new HeapReducingState<TKey, TNamespace, T>(d, b._key, b.Time, b._serializers));

    public IInternalAggregatingState<TNamespace, TIn, TAcc, TOut> GetAggregatingState<TNamespace, TIn, TAcc, TOut>(
        IStateSerializer<TNamespace> namespaceSerializer, AggregatingStateDescriptor<TIn, TAcc, TOut> descriptor)
        where TNamespace : notnull =>
        Register(descriptor, static (d, b) => new HeapAggregatingState<TKey, TNamespace, TIn, TAcc, TOut>(d, b._key, b.Time, b._serializers));

    public IReadOnlyList<TKey> GetKeys<TNamespace>(string stateName, TNamespace ns)
        where TNamespace : notnull
    {
        if (!_states.TryGetValue(stateName, out var state))
        {
            throw new InvalidOperationException($"Keyed state '{stateName}' has not been created in this key group.");
        }

        var keys = new List<TKey>();
        state.CollectKeys(ns, keys);
        return keys;
    }

    public void ApplyToAllKeys<TNamespace>(string stateName, TNamespace ns, IKeyedStateFunction<TKey> function)
        where TNamespace : notnull
    {
        var previous = _key.Current;
        try
        {
            foreach (var key in GetKeys(stateName, ns))
            {
                _key.Current = key;
                function.Process(key);
            }
        }
        finally
        {
            _key.Current = previous;
        }
    }

    public IReadOnlyCollection<string> QueryableNames => _queryable.Keys;

    public bool TryQuery(string queryableName, TKey key, out object? value)
    {
        if (!_queryable.TryGetValue(queryableName, out var state))
        {
            throw new InvalidOperationException($"No state of this key group is queryable as '{queryableName}'.");
        }

        return state.TryQuery(key, out value);
    }

    public KeyedStateSnapshot Snapshot()
    {
        var names = new List<string>(_states.Count + _unclaimed.Count);
        names.AddRange(_states.Keys);
        names.AddRange(_unclaimed.Keys);
        names.Sort(StringComparer.Ordinal);
        var snapshot = new KeyedStateSnapshot
        {
            Format = TableFormat,
            Names = [.. names],
            Schemas = new string[names.Count],
            Tables = new byte[names.Count][],
        };
        for (var i = 0; i < names.Count; i++)
        {
            if (_states.TryGetValue(names[i], out var state))
            {
                snapshot.Schemas[i] = state.Schema;
                snapshot.Tables[i] = state.Snapshot();
            }
            else
            {
                (snapshot.Schemas[i], snapshot.Tables[i]) = _unclaimed[names[i]];
            }
        }

        return snapshot;
    }

    public void Restore(KeyedStateSnapshot snapshot)
    {
        // Check the format and every schema before anything changes, so a snapshot of other state leaves this one as it was.
        if (snapshot.Names.Length > 0 && !string.Equals(snapshot.Format, TableFormat, StringComparison.Ordinal))
        {
            throw new SnapshotSchemaMismatchException(
                $"keyed state: the snapshot's tables are in format '{snapshot.Format}' but the heap backend reads '{TableFormat}'.");
        }

        for (var i = 0; i < snapshot.Names.Length; i++)
        {
            if (_states.TryGetValue(snapshot.Names[i], out var state))
            {
                CheckSchema(snapshot.Names[i], snapshot.Schemas[i], state.Schema);
            }
        }

        foreach (var state in _states.Values)
        {
            state.Clear();
        }

        _unclaimed.Clear();
        for (var i = 0; i < snapshot.Names.Length; i++)
        {
            if (_states.TryGetValue(snapshot.Names[i], out var state))
            {
                state.Restore(snapshot.Tables[i]);
            }
            else
            {
                _unclaimed[snapshot.Names[i]] = (snapshot.Schemas[i], snapshot.Tables[i]);
            }
        }
    }

    /// <summary>The state of <paramref name="descriptor"/>'s name, created on first use (a static factory: asking again allocates nothing).</summary>
    private TState Register<TDescriptor, TState>(TDescriptor descriptor, Func<TDescriptor, HeapKeyedStateBackend<TKey>, TState> create)
        where TDescriptor : StateDescriptor
        where TState : class, IHeapState<TKey>
    {
        if (_states.TryGetValue(descriptor.Name, out var existing))
        {
            return existing as TState ?? throw new InvalidOperationException(
                $"Keyed state '{descriptor.Name}' already exists as {existing.Schema}; {descriptor} asks for another kind or type.");
        }

        if (descriptor.QueryableName is { } queryable && _queryable.TryGetValue(queryable, out var other))
        {
            throw new InvalidOperationException(
                $"Keyed states '{other.Name}' and '{descriptor.Name}' are both queryable as '{queryable}'; queryable names must be unique.");
        }

        var state = create(descriptor, this);
        if (_unclaimed.Remove(descriptor.Name, out var restored))
        {
            CheckSchema(descriptor.Name, restored.Schema, state.Schema);
            state.Restore(restored.Table);
        }

        _states.Add(descriptor.Name, state);
        if (descriptor.QueryableName is { } name)
        {
            _queryable.Add(name, state);
        }

        return state;
    }

    private static void CheckSchema(string name, string snapshotted, string current)
    {
        if (!string.Equals(snapshotted, current, StringComparison.Ordinal))
        {
            throw new SnapshotSchemaMismatchException(
                $"keyed state '{name}': the snapshot holds '{snapshotted}' but this build's state is '{current}'.");
        }
    }
}
