using Sluice.State.Serialization;
using Sluice.State.Snapshots;

namespace Sluice.State;

/// <summary>
/// The keyed state of one keyed operator in one key group (Flink's <c>KeyedStateBackend</c>): every value is addressed
/// by (state name, key, namespace). The key is the backend's current key, set by the operator before it touches state;
/// the namespace is the handle's (a window for window contents, <see cref="VoidNamespace"/> for plain keyed state).
/// Handles are created from descriptors and typed; a backend may keep objects (heap) or serialized bytes, using
/// <see cref="KeySerializer"/>, the namespace serializer given per handle and the value serializers it resolves by type.
/// Timers are not state of the backend: the timer service is separate and checkpointed beside it.
/// </summary>
internal interface IKeyedStateBackend<TKey>
    where TKey : notnull
{
    /// <summary>The key group this backend holds.</summary>
    int KeyGroup { get; }

    IStateSerializer<TKey> KeySerializer { get; }

    /// <summary>Time as state expiry sees it: the operator advances the watermark and stamps each record's timestamp.</summary>
    StateTime Time { get; }

    TKey CurrentKey { get; }

    /// <summary>Entries held over all states (one per key and namespace, expired ones included until they are cleaned up).</summary>
    int Entries { get; }

    void SetCurrentKey(TKey key);

    IInternalValueState<TNamespace, T> GetValueState<TNamespace, T>(IStateSerializer<TNamespace> namespaceSerializer, ValueStateDescriptor<T> descriptor)
        where TNamespace : notnull;

    IInternalListState<TNamespace, T> GetListState<TNamespace, T>(IStateSerializer<TNamespace> namespaceSerializer, ListStateDescriptor<T> descriptor)
        where TNamespace : notnull;

    IInternalMapState<TNamespace, TUserKey, TUserValue> GetMapState<TNamespace, TUserKey, TUserValue>(
        IStateSerializer<TNamespace> namespaceSerializer, MapStateDescriptor<TUserKey, TUserValue> descriptor)
        where TNamespace : notnull
        where TUserKey : notnull;

    IInternalReducingState<TNamespace, T> GetReducingState<TNamespace, T>(IStateSerializer<TNamespace> namespaceSerializer, ReducingStateDescriptor<T> descriptor)
        where TNamespace : notnull;

    IInternalAggregatingState<TNamespace, TIn, TAcc, TOut> GetAggregatingState<TNamespace, TIn, TAcc, TOut>(
        IStateSerializer<TNamespace> namespaceSerializer, AggregatingStateDescriptor<TIn, TAcc, TOut> descriptor)
        where TNamespace : notnull;

    /// <summary>The keys that have a live value of state <paramref name="stateName"/> in <paramref name="ns"/> (a copy).</summary>
    IReadOnlyList<TKey> GetKeys<TNamespace>(string stateName, TNamespace ns)
        where TNamespace : notnull;

    /// <summary>
    /// Calls <paramref name="function"/> once per key that has a live value of <paramref name="stateName"/> in
    /// <paramref name="ns"/>, with that key current; the function may change or clear state as it goes.
    /// </summary>
    void ApplyToAllKeys<TNamespace>(string stateName, TNamespace ns, IKeyedStateFunction<TKey> function)
        where TNamespace : notnull;

    /// <summary>The names under which states created so far can be queried (<see cref="StateDescriptor.QueryableName"/>).</summary>
    IReadOnlyCollection<string> QueryableNames { get; }

    /// <summary>
    /// A live state query of queryable state <paramref name="queryableName"/> (which must be in <see cref="QueryableNames"/>)
    /// for <paramref name="key"/>: reads without changing anything (the current key stays, nothing expires or is renewed).
    /// </summary>
    bool TryQuery(string queryableName, TKey key, out object? value);

    /// <summary>A copy of every state (expired values left out), taken synchronously; later changes do not affect it.</summary>
    KeyedStateSnapshot Snapshot();

    /// <summary>
    /// Replaces all state with the snapshot's. States not created yet are kept as they were snapshotted and restored when
    /// a handle of that name is created (a mismatching kind or type is then a <see cref="SnapshotSchemaMismatchException"/>).
    /// </summary>
    void Restore(KeyedStateSnapshot snapshot);
}

/// <summary>Work done for every key of a state (see <see cref="IKeyedStateBackend{TKey}.ApplyToAllKeys"/>).</summary>
internal interface IKeyedStateFunction<in TKey>
{
    void Process(TKey key);
}

/// <summary>A state handle as operators see it (Flink's <c>InternalKvState</c>): it also chooses the namespace.</summary>
internal interface IInternalKvState<in TNamespace> : IState
{
    string Name { get; }

    void SetCurrentNamespace(TNamespace ns);
}

/// <summary>State whose namespaces can be merged into one (session windows merging).</summary>
internal interface IInternalMergingState<TNamespace> : IInternalKvState<TNamespace>
{
    /// <summary>Merges the current key's values in <paramref name="sources"/> into <paramref name="target"/> and removes them.</summary>
    void MergeNamespaces(TNamespace target, ReadOnlySpan<TNamespace> sources);
}

internal interface IInternalValueState<in TNamespace, T> : IInternalKvState<TNamespace>, IValueState<T>;

internal interface IInternalListState<TNamespace, T> : IInternalMergingState<TNamespace>, IVisitableListState<T>
{
    /// <summary>
    /// Replaces the current key's elements with <paramref name="values"/>, as <see cref="IListState{T}.Update"/> does
    /// (an empty span clears them); the values are copied, the span is not kept.
    /// </summary>
    void Replace(ReadOnlySpan<T> values);
}

internal interface IInternalMapState<in TNamespace, TUserKey, TUserValue> : IInternalKvState<TNamespace>, IVisitableMapState<TUserKey, TUserValue>
    where TUserKey : notnull;

internal interface IInternalReducingState<TNamespace, T> : IInternalMergingState<TNamespace>, IReducingState<T>;

internal interface IInternalAggregatingState<TNamespace, in TIn, TAcc, TOut> : IInternalMergingState<TNamespace>, IAggregatingState<TIn, TOut>
{
    /// <summary>The current key's accumulator in the current namespace, without computing a result.</summary>
    bool TryGetAccumulator(out TAcc accumulator);
}
