using Sluice.State.Serialization;

namespace Sluice.ProcessFunctions;

/// <summary>One named broadcast state of a task, as the state store sees it: snapshot and restore without knowing its types.</summary>
internal interface IBroadcastStateTable
{
    string Name { get; }

    int Count { get; }

    void Clear();

    byte[] Serialize();

    void Restore(byte[] bytes);
}

/// <summary>A broadcast map state (Flink's <c>HeapBroadcastState</c>): one map per task, copied into each snapshot.</summary>
internal sealed class BroadcastMapState<TUserKey, TUserValue>(string name, IStateSerializerProvider serializers)
    : IBroadcastState<TUserKey, TUserValue>, IBroadcastStateTable
    where TUserKey : notnull
{
    private readonly Dictionary<TUserKey, TUserValue> _map = [];
    private readonly IStateSerializer<BroadcastMapSnapshot<TUserKey, TUserValue>> _serializer = serializers.Get<BroadcastMapSnapshot<TUserKey, TUserValue>>();
    private ReadOnlyView? _readOnly;

    public string Name => name;

    public int Count => _map.Count;

    /// <summary>The same map without its writing methods, for keyed records.</summary>
    public IReadOnlyBroadcastState<TUserKey, TUserValue> ReadOnly => _readOnly ??= new ReadOnlyView(this);

    public bool TryGetValue(TUserKey key, out TUserValue value) => _map.TryGetValue(key, out value!);

    public bool Contains(TUserKey key) => _map.ContainsKey(key);

    public IReadOnlyList<KeyValuePair<TUserKey, TUserValue>> Entries() => [.. _map];

    public void Put(TUserKey key, TUserValue value) => _map[key] = value;

    public void Remove(TUserKey key) => _map.Remove(key);

    public void Clear() => _map.Clear();

    public byte[] Serialize()
    {
        var snapshot = new BroadcastMapSnapshot<TUserKey, TUserValue> { Keys = new TUserKey[_map.Count], Values = new TUserValue[_map.Count] };
        var i = 0;
        foreach (var (key, value) in _map)
        {
            snapshot.Keys[i] = key;
            snapshot.Values[i] = value;
            i++;
        }

        return _serializer.SerializeToArray(snapshot);
    }

    public void Restore(byte[] bytes)
    {
        var snapshot = _serializer.Deserialize(bytes);
        _map.Clear();
        for (var i = 0; i < snapshot.Keys.Length; i++)
        {
            _map[snapshot.Keys[i]] = snapshot.Values[i];
        }
    }

    private sealed class ReadOnlyView(BroadcastMapState<TUserKey, TUserValue> state) : IReadOnlyBroadcastState<TUserKey, TUserValue>
    {
        public int Count => state.Count;

        public bool TryGetValue(TUserKey key, out TUserValue value) => state.TryGetValue(key, out value);

        public bool Contains(TUserKey key) => state.Contains(key);

        public IReadOnlyList<KeyValuePair<TUserKey, TUserValue>> Entries() => state.Entries();
    }
}

/// <summary>A broadcast map state in a snapshot: key and value columns.</summary>
[GenerateSerializer]
internal sealed class BroadcastMapSnapshot<TUserKey, TUserValue>
{
    [Id(0)] public TUserKey[] Keys { get; set; } = [];

    [Id(1)] public TUserValue[] Values { get; set; } = [];
}
