namespace Sluice.ProcessFunctions;

/// <summary>Broadcast state as keyed records see it (Flink's <c>ReadOnlyBroadcastState</c>): a map, identical in every key group.</summary>
public interface IReadOnlyBroadcastState<TUserKey, TUserValue>
    where TUserKey : notnull
{
    bool TryGetValue(TUserKey key, out TUserValue value);

    bool Contains(TUserKey key);

    int Count { get; }

    /// <summary>A copy of the entries, in no defined order.</summary>
    IReadOnlyList<KeyValuePair<TUserKey, TUserValue>> Entries();
}

/// <summary>
/// Broadcast state as broadcast records see it (Flink's <c>BroadcastState</c>): a map per task, in every checkpoint
/// of every key group. Change it only from what the broadcast record says, so every key group holds the same map.
/// </summary>
public interface IBroadcastState<TUserKey, TUserValue> : IReadOnlyBroadcastState<TUserKey, TUserValue>
    where TUserKey : notnull
{
    void Put(TUserKey key, TUserValue value);

    void Remove(TUserKey key);

    void Clear();
}
