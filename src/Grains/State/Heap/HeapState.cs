using System.Runtime.CompilerServices;
using Sluice.State.Serialization;
using Sluice.State.Snapshots;

namespace Sluice.State.Heap;

/// <summary>What the heap backend needs of each of its states, whatever their types.</summary>
internal interface IHeapState<TKey>
    where TKey : notnull
{
    string Name { get; }

    /// <summary>Kind, namespace and value types: a snapshot table is only restored into a state with the same schema.</summary>
    string Schema { get; }

    int Count { get; }

    /// <summary>The live entries as a serialized table; expired entries are removed, not written.</summary>
    byte[] Snapshot();

    void Restore(ReadOnlySpan<byte> table);

    void Clear();

    void CollectKeys<TNs>(TNs ns, List<TKey> keys);

    /// <summary>
    /// A live state query: <paramref name="key"/>'s value in the void namespace as clients see it (a copy for lists and
    /// maps, the result for aggregating state), without changing anything: no current key or namespace is set, nothing
    /// expired is removed and no time-to-live is renewed. False when the key has no live value.
    /// </summary>
    bool TryQuery(TKey key, out object? value);
}

/// <summary>The current key of a backend, shared by its state handles.</summary>
internal sealed class KeyContext<TKey>
{
    public TKey Current = default!;
}

/// <summary>
/// A heap state: its table, the current namespace, and time-to-live. Every access of a state with a time-to-live first
/// sweeps a few entries of its table (<see cref="StateTtlConfig.IncrementalCleanupSize"/>), then treats an expired entry as
/// absent and removes it, so expired values are never returned and cannot pile up while the state is in use.
/// </summary>
internal abstract class HeapState<TKey, TNamespace, TValue> : IHeapState<TKey>, IInternalKvState<TNamespace>
    where TKey : notnull
    where TNamespace : notnull
{
    private readonly KeyContext<TKey> _key;
    private readonly StateTime _time;
    private readonly IStateSerializer<StateTableColumns<TKey, TNamespace, TValue>> _serializer;
    private readonly long _ttl;
    private readonly bool _eventTime;
    private readonly int _sweep;

    protected HeapState(string kind, StateDescriptor descriptor, KeyContext<TKey> key, StateTime time, IStateSerializerProvider serializers)
    {
        Name = descriptor.Name;
        Schema = $"{kind}|namespace:{TypeNames.Of(typeof(TNamespace))}|value:{TypeNames.Of(typeof(TValue))}";
        _key = key;
        _time = time;
        _serializer = serializers.Get<StateTableColumns<TKey, TNamespace, TValue>>();
        if (descriptor.Ttl is { } ttl)
        {
            HasTtl = true;
            _ttl = Math.Max(1, (long)ttl.TimeToLive.TotalMilliseconds);
            _eventTime = ttl.TimeCharacteristic == TtlTimeCharacteristic.EventTime;
            _sweep = ttl.IncrementalCleanupSize;
            UpdateOnRead = ttl.UpdateType == TtlUpdateType.OnReadAndWrite;
        }
    }

    public string Name { get; }

    public string Schema { get; }

    public int Count => Table.Count;

    protected StateTable<TKey, TNamespace, TValue> Table { get; } = new();

    protected TNamespace Namespace { get; private set; } = default!;

    protected TKey CurrentKey => _key.Current;

    protected bool HasTtl { get; }

    protected bool UpdateOnRead { get; }

    public void SetCurrentNamespace(TNamespace ns) => Namespace = ns;

    public void Clear() => Table.Remove(_key.Current, Namespace);

    void IHeapState<TKey>.Clear() => Table.Clear();

    /// <summary>The time expiries are compared with: the watermark (event time) or the clock (processing time).</summary>
    protected long Now() => _eventTime ? _time.Watermark : _time.ProcessingTime();

    /// <summary>The expiry of a value written now: never without a time-to-live.</summary>
    protected long NewExpiry()
    {
        if (!HasTtl)
        {
            return long.MaxValue;
        }

        var written = _eventTime ? Math.Max(_time.CurrentTimestamp, _time.Watermark) : _time.ProcessingTime();
        return written > long.MaxValue - _ttl ? long.MaxValue : written + _ttl;
    }

    /// <summary>The current (key, namespace)'s entry, or a null reference when it has none or it expired (then it is removed).</summary>
    protected ref StateEntry<TKey, TNamespace, TValue> Lookup() => ref Lookup(Namespace);

    protected ref StateEntry<TKey, TNamespace, TValue> Lookup(TNamespace ns)
    {
        if (!HasTtl)
        {
            return ref Table.Find(_key.Current, ns);
        }

        var now = Now();
        Table.Sweep(_sweep, now);
        ref var entry = ref Table.Find(_key.Current, ns);
        if (!Unsafe.IsNullRef(ref entry) && entry.Expiry <= now)
        {
            Table.Remove(_key.Current, ns);
            return ref Unsafe.NullRef<StateEntry<TKey, TNamespace, TValue>>();
        }

        return ref entry;
    }

    /// <summary>
    /// Moves the current key's values in <paramref name="sources"/> into <paramref name="target"/>, combining them with
    /// <paramref name="merge"/>; the merged value expires when the latest of them would have.
    /// </summary>
    protected void MergeInto<TSelf>(TNamespace target, ReadOnlySpan<TNamespace> sources, Func<TSelf, TValue, TValue, TValue> merge, TSelf self)
    {
        var found = false;
        TValue merged = default!;
        var expiry = long.MinValue;
        foreach (var source in sources)
        {
            if (EqualityComparer<TNamespace>.Default.Equals(source, target))
            {
                continue;
            }

            ref var entry = ref Lookup(source);
            if (Unsafe.IsNullRef(ref entry))
            {
                continue;
            }

            merged = found ? merge(self, merged, entry.Value) : entry.Value;
            expiry = Math.Max(expiry, entry.Expiry);
            found = true;
            Table.Remove(_key.Current, source);
        }

        if (!found)
        {
            return;
        }

        ref var existing = ref Lookup(target);
        if (Unsafe.IsNullRef(ref existing))
        {
            Table.Add(_key.Current, target, merged, expiry);
            return;
        }

        existing.Value = merge(self, existing.Value, merged);
        existing.Expiry = Math.Max(existing.Expiry, expiry);
    }

    /// <summary>Drops a value's expired elements (list and map states); false when nothing is left of it.</summary>
    protected virtual bool RemoveExpiredElements(ref TValue value, long now) => true;

    public byte[] Snapshot()
    {
        if (HasTtl)
        {
            var now = Now();
            for (var slot = 0; slot < Table.SlotCount; slot++)
            {
                if (Table.IsLive(slot))
                {
                    ref var entry = ref Table.At(slot);
                    if (entry.Expiry <= now || !RemoveExpiredElements(ref entry.Value, now))
                    {
                        Table.RemoveAt(slot);
                    }
                }
            }
        }

        var count = Table.Count;
        var columns = new StateTableColumns<TKey, TNamespace, TValue>
        {
            Keys = new TKey[count],
            Namespaces = new TNamespace[count],
            Values = new TValue[count],
            Expiries = HasTtl ? new long[count] : null,
        };
        var i = 0;
        for (var slot = 0; slot < Table.SlotCount; slot++)
        {
            if (Table.IsLive(slot))
            {
                ref var entry = ref Table.At(slot);
                columns.Keys[i] = entry.Key;
                columns.Namespaces[i] = entry.Namespace;
                columns.Values[i] = entry.Value;
                if (columns.Expiries is { } expiries)
                {
                    expiries[i] = entry.Expiry;
                }

                i++;
            }
        }

        return _serializer.SerializeToArray(columns);
    }

    public void Restore(ReadOnlySpan<byte> table)
    {
        var columns = _serializer.Deserialize(table)
            ?? throw new SnapshotCorruptedException($"state '{Name}': the snapshot table is empty.");
        Table.Clear();
        // A snapshot taken without a time-to-live gives its entries a full one from now.
        var restoredExpiry = NewExpiry();
        for (var i = 0; i < columns.Keys.Length; i++)
        {
            var expiry = !HasTtl ? long.MaxValue : columns.Expiries is { } expiries ? expiries[i] : restoredExpiry;
            Table.Add(columns.Keys[i], columns.Namespaces[i], columns.Values[i], expiry);
        }
    }

    public bool TryQuery(TKey key, out object? value)
    {
        value = null;
        if (typeof(TNamespace) != typeof(VoidNamespace))
        {
            return false; // only plain keyed state is queryable; window contents live in window namespaces
        }

        ref var entry = ref Table.Find(key, (TNamespace)(object)VoidNamespace.Instance);
        if (Unsafe.IsNullRef(ref entry))
        {
            return false;
        }

        var now = HasTtl ? Now() : long.MinValue;
        if (HasTtl && entry.Expiry <= now)
        {
            return false;
        }

        return TryView(entry.Value, now, out value);
    }

    /// <summary>What a query returns for a stored value: the live part of it (elements not expired at <paramref name="now"/>), as a copy.</summary>
    protected virtual bool TryView(TValue stored, long now, out object? value)
    {
        value = stored;
        return true;
    }

    public void CollectKeys<TNs>(TNs ns, List<TKey> keys)
    {
        if (ns is not TNamespace wanted)
        {
            throw new ArgumentException($"state '{Name}' has namespaces of type {typeof(TNamespace)}, not {typeof(TNs)}.", nameof(ns));
        }

        var now = HasTtl ? Now() : long.MinValue;
        for (var slot = 0; slot < Table.SlotCount; slot++)
        {
            if (Table.IsLive(slot))
            {
                ref var entry = ref Table.At(slot);
                if (entry.Expiry > now && EqualityComparer<TNamespace>.Default.Equals(entry.Namespace, wanted))
                {
                    keys.Add(entry.Key);
                }
            }
        }
    }
}

/// <summary>Readable, assembly-free type names for state schemas.</summary>
internal static class TypeNames
{
    public static string Of(Type type)
    {
        if (type.IsArray)
        {
            return Of(type.GetElementType()!) + "[]";
        }

        if (!type.IsGenericType)
        {
            return type.FullName ?? type.Name;
        }

        var name = type.GetGenericTypeDefinition().FullName ?? type.Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        var arguments = type.GetGenericArguments();
        var parts = new string[arguments.Length];
        for (var i = 0; i < arguments.Length; i++)
        {
            parts[i] = Of(arguments[i]);
        }

        return $"{(tick < 0 ? name : name[..tick])}<{string.Join(",", parts)}>";
    }
}
