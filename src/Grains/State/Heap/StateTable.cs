using System.Runtime.CompilerServices;

namespace Sluice.State.Heap;

/// <summary>An entry of a <see cref="StateTable{TKey,TNamespace,TValue}"/>: a value and when it expires.</summary>
internal struct StateEntry<TKey, TNamespace, TValue>
{
    public TKey Key;
    public TNamespace Namespace;
    public TValue Value;

    /// <summary>When the entry expires in its state's time-to-live clock; <see cref="long.MaxValue"/>: never.</summary>
    public long Expiry;

    internal int HashCode;

    // Next entry in the bucket's chain (-1: end). A free slot holds FreeListStart - (next free slot) instead, below -1.
    internal int Next;
}

/// <summary>
/// The heap backend's table of one state: (key, namespace) to value, as a chained hash table over one entry array
/// (the layout of <see cref="Dictionary{TKey,TValue}"/>). Unlike a dictionary it hands out entries by reference and its
/// slots have stable indexes, so an expiry sweep can keep a cursor across inserts and removals, and snapshots iterate
/// without an enumerator. Iteration order is slot order: the same history of changes gives the same order. Sweeps
/// shrink a table whose entries mostly expired, so its memory follows the live count rather than its peak.
/// </summary>
internal sealed class StateTable<TKey, TNamespace, TValue>
    where TKey : notnull
    where TNamespace : notnull
{
    private const int FreeListStart = -3;
    private int[] _buckets = [];
    private StateEntry<TKey, TNamespace, TValue>[] _entries = [];
    private int _used;
    private int _freeList = -1;
    private int _freeCount;
    private int _cursor;

    public int Count => _used - _freeCount;

    /// <summary>Slots up to which <see cref="IsLive"/> may be true.</summary>
    public int SlotCount => _used;

    public bool IsLive(int slot) => _entries[slot].Next >= -1;

    public ref StateEntry<TKey, TNamespace, TValue> At(int slot) => ref _entries[slot];

    /// <summary>The entry of (<paramref name="key"/>, <paramref name="ns"/>), or a null reference (<see cref="Unsafe.IsNullRef"/>).</summary>
    public ref StateEntry<TKey, TNamespace, TValue> Find(TKey key, TNamespace ns)
    {
        if (_buckets.Length > 0)
        {
            var hash = Hash(key, ns);
            var i = _buckets[hash & (_buckets.Length - 1)] - 1;
            while ((uint)i < (uint)_entries.Length)
            {
                ref var entry = ref _entries[i];
                if (entry.HashCode == hash
                    && EqualityComparer<TKey>.Default.Equals(entry.Key, key)
                    && EqualityComparer<TNamespace>.Default.Equals(entry.Namespace, ns))
                {
                    return ref entry;
                }

                i = entry.Next;
            }
        }

        return ref Unsafe.NullRef<StateEntry<TKey, TNamespace, TValue>>();
    }

    /// <summary>Adds an entry that is not in the table (the caller checked) and returns it; the reference is valid until the next add.</summary>
    public ref StateEntry<TKey, TNamespace, TValue> Add(TKey key, TNamespace ns, TValue value, long expiry)
    {
        if (_buckets.Length == 0)
        {
            Resize(4);
        }

        int slot;
        if (_freeCount > 0)
        {
            slot = _freeList;
            _freeList = FreeListStart - _entries[slot].Next;
            _freeCount--;
        }
        else
        {
            if (_used == _entries.Length)
            {
                Resize(_entries.Length * 2);
            }

            slot = _used++;
        }

        var hash = Hash(key, ns);
        ref var bucket = ref _buckets[hash & (_buckets.Length - 1)];
        ref var entry = ref _entries[slot];
        entry.Key = key;
        entry.Namespace = ns;
        entry.Value = value;
        entry.Expiry = expiry;
        entry.HashCode = hash;
        entry.Next = bucket - 1;
        bucket = slot + 1;
        return ref entry;
    }

    public bool Remove(TKey key, TNamespace ns)
    {
        ref var entry = ref Find(key, ns);
        if (Unsafe.IsNullRef(ref entry))
        {
            return false;
        }

        RemoveAt(SlotOf(ref entry));
        return true;
    }

    /// <summary>Frees a live slot.</summary>
    public void RemoveAt(int slot)
    {
        ref var entry = ref _entries[slot];
        ref var link = ref _buckets[entry.HashCode & (_buckets.Length - 1)];
        var previous = -1;
        var i = link - 1;
        while (i != slot)
        {
            previous = i;
            i = _entries[i].Next;
        }

        if (previous < 0)
        {
            link = entry.Next + 1;
        }
        else
        {
            _entries[previous].Next = entry.Next;
        }

        entry.Next = FreeListStart - _freeList;
        if (RuntimeHelpers.IsReferenceOrContainsReferences<StateEntry<TKey, TNamespace, TValue>>())
        {
            entry.Key = default!;
            entry.Namespace = default!;
            entry.Value = default!;
        }

        _freeList = slot;
        _freeCount++;
    }

    /// <summary>
    /// Checks the next <paramref name="budget"/> slots after where the last sweep stopped (wrapping around) and removes
    /// the entries that expired at <paramref name="now"/>. Each call does bounded work; repeated calls visit every slot.
    /// </summary>
    public void Sweep(int budget, long now)
    {
        for (var n = 0; n < budget && _used > 0; n++)
        {
            if (_cursor >= _used)
            {
                _cursor = 0;
                ShrinkIfSparse();
                if (_used == 0)
                {
                    return;
                }
            }

            var slot = _cursor++;
            ref var entry = ref _entries[slot];
            if (entry.Next >= -1 && entry.Expiry <= now)
            {
                RemoveAt(slot);
            }
        }
    }

    public void Clear()
    {
        _buckets = [];
        _entries = [];
        _used = 0;
        _freeList = -1;
        _freeCount = 0;
        _cursor = 0;
    }

    /// <summary>
    /// After a sweep went round: when at most a quarter of the slots are live (keys expired in bulk), moves the live
    /// entries, in slot order, into arrays half as large again as they need, so memory follows the live count down.
    /// </summary>
    private void ShrinkIfSparse()
    {
        if (_entries.Length <= 16 || Count > _entries.Length / 4)
        {
            return;
        }

        var size = 16;
        while (size < Count * 2)
        {
            size *= 2;
        }

        var entries = new StateEntry<TKey, TNamespace, TValue>[size];
        var live = 0;
        for (var i = 0; i < _used; i++)
        {
            if (_entries[i].Next >= -1)
            {
                entries[live++] = _entries[i];
            }
        }

        _entries = entries;
        _used = live;
        _freeList = -1;
        _freeCount = 0;
        _cursor = 0;
        _buckets = new int[size];
        for (var i = 0; i < live; i++)
        {
            ref var entry = ref _entries[i];
            ref var bucket = ref _buckets[entry.HashCode & (size - 1)];
            entry.Next = bucket - 1;
            bucket = i + 1;
        }
    }

    private int SlotOf(ref StateEntry<TKey, TNamespace, TValue> entry) =>
        (int)(Unsafe.ByteOffset(ref _entries[0], ref entry) / Unsafe.SizeOf<StateEntry<TKey, TNamespace, TValue>>());

    private static int Hash(TKey key, TNamespace ns) => System.HashCode.Combine(key.GetHashCode(), ns.GetHashCode());

    private void Resize(int size)
    {
        var entries = new StateEntry<TKey, TNamespace, TValue>[size];
        Array.Copy(_entries, entries, _used);
        _entries = entries;
        _buckets = new int[size];
        for (var i = 0; i < _used; i++)
        {
            ref var entry = ref _entries[i];
            if (entry.Next >= -1)
            {
                ref var bucket = ref _buckets[entry.HashCode & (size - 1)];
                entry.Next = bucket - 1;
                bucket = i + 1;
            }
        }
    }
}
