using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Sluice.State.Serialization;

namespace Sluice.State.Heap;

/// <summary>A map per (key, namespace) whose entries expire one by one; the state entry expires with its last map entry.</summary>
internal sealed class HeapMapState<TKey, TNamespace, TUserKey, TUserValue>(
    MapStateDescriptor<TUserKey, TUserValue> descriptor, KeyContext<TKey> key, StateTime time, IStateSerializerProvider serializers)
    : HeapState<TKey, TNamespace, Dictionary<TUserKey, TtlValue<TUserValue>>>("map", descriptor, key, time, serializers),
        IInternalMapState<TNamespace, TUserKey, TUserValue>
    where TKey : notnull
    where TNamespace : notnull
    where TUserKey : notnull
{
    public bool TryGetValue(TUserKey userKey, out TUserValue value)
    {
        ref var entry = ref Lookup();
        if (!Unsafe.IsNullRef(ref entry))
        {
            var map = entry.Value;
            ref var element = ref CollectionsMarshal.GetValueRefOrNullRef(map, userKey);
            if (!Unsafe.IsNullRef(ref element))
            {
                if (!HasTtl || element.Expiry > Now())
                {
                    if (UpdateOnRead)
                    {
                        element.Expiry = NewExpiry();
                        entry.Expiry = Math.Max(entry.Expiry, element.Expiry);
                    }

                    value = element.Value;
                    return true;
                }

                map.Remove(userKey);
                if (map.Count == 0)
                {
                    Clear();
                }
            }
        }

        value = default!;
        return false;
    }

    public bool Contains(TUserKey userKey) => TryGetValue(userKey, out _);

    public void Put(TUserKey userKey, TUserValue value)
    {
        var expiry = NewExpiry();
        ref var entry = ref Lookup();
        if (Unsafe.IsNullRef(ref entry))
        {
            Table.Add(CurrentKey, Namespace, new Dictionary<TUserKey, TtlValue<TUserValue>> { [userKey] = new(value, expiry) }, expiry);
            return;
        }

        entry.Value[userKey] = new TtlValue<TUserValue>(value, expiry);
        entry.Expiry = Math.Max(entry.Expiry, expiry);
    }

    public void Remove(TUserKey userKey)
    {
        ref var entry = ref Lookup();
        if (!Unsafe.IsNullRef(ref entry) && entry.Value.Remove(userKey) && entry.Value.Count == 0)
        {
            Clear();
        }
    }

    public IReadOnlyList<KeyValuePair<TUserKey, TUserValue>> Entries()
    {
        var map = Read();
        if (map is null)
        {
            return [];
        }

        var result = new List<KeyValuePair<TUserKey, TUserValue>>(map.Count);
        foreach (var (userKey, element) in map)
        {
            result.Add(new KeyValuePair<TUserKey, TUserValue>(userKey, element.Value));
        }

        return result;
    }

    public void Visit<TVisitor>(ref TVisitor visitor)
        where TVisitor : struct, IMapEntryVisitor<TUserKey, TUserValue>
    {
        var map = Read();
        if (map is null)
        {
            return;
        }

        foreach (var (userKey, element) in map)
        {
            visitor.Visit(userKey, element.Value);
        }
    }

    public bool IsEmpty() => Read() is not { Count: > 0 };

    /// <summary>
    /// The current key's live map, as a read sees it: expired entries removed (the state entry too when none is left), a
    /// time-to-live renewed on read renewed. Null when it has none.
    /// </summary>
    private Dictionary<TUserKey, TtlValue<TUserValue>>? Read()
    {
        ref var entry = ref Lookup();
        if (Unsafe.IsNullRef(ref entry))
        {
            return null;
        }

        var map = entry.Value;
        if (HasTtl && !RemoveExpiredElements(ref map, Now()))
        {
            Clear();
            return null;
        }

        if (UpdateOnRead)
        {
            var renewed = NewExpiry();
            foreach (var userKey in map.Keys)
            {
                // In place through a reference: the map's version stays, so the enumeration goes on.
                CollectionsMarshal.GetValueRefOrNullRef(map, userKey).Expiry = renewed;
            }

            entry.Expiry = Math.Max(entry.Expiry, renewed);
        }

        return map;
    }

    protected override bool TryView(Dictionary<TUserKey, TtlValue<TUserValue>> stored, long now, out object? value)
    {
        var copy = new Dictionary<TUserKey, TUserValue>(stored.Count);
        foreach (var (userKey, element) in stored)
        {
            if (!HasTtl || element.Expiry > now)
            {
                copy.Add(userKey, element.Value);
            }
        }

        value = copy;
        return copy.Count > 0;
    }

    protected override bool RemoveExpiredElements(ref Dictionary<TUserKey, TtlValue<TUserValue>> value, long now)
    {
        foreach (var (userKey, element) in value)
        {
            if (element.Expiry <= now)
            {
                value.Remove(userKey); // removing during enumeration is allowed for Dictionary since .NET Core 3.0
            }
        }

        return value.Count > 0;
    }
}
