using System.Runtime.CompilerServices;
using Sluice.State.Serialization;

namespace Sluice.State.Heap;

/// <summary>A list per (key, namespace) whose elements expire one by one; the entry expires with its last element.</summary>
internal sealed class HeapListState<TKey, TNamespace, T>(ListStateDescriptor<T> descriptor, KeyContext<TKey> key, StateTime time, IStateSerializerProvider serializers)
    : HeapState<TKey, TNamespace, List<TtlValue<T>>>("list", descriptor, key, time, serializers), IInternalListState<TNamespace, T>
    where TKey : notnull
    where TNamespace : notnull
{
    public IReadOnlyList<T> Get()
    {
        ref var entry = ref Lookup();
        if (Unsafe.IsNullRef(ref entry))
        {
            return [];
        }

        var elements = entry.Value;
        if (HasTtl && !RemoveExpiredElements(ref elements, Now()))
        {
            Clear();
            return [];
        }

        var result = new List<T>(elements.Count);
        var renewed = UpdateOnRead ? NewExpiry() : 0;
        for (var i = 0; i < elements.Count; i++)
        {
            result.Add(elements[i].Value);
            if (UpdateOnRead)
            {
                elements[i] = new TtlValue<T>(elements[i].Value, renewed);
            }
        }

        if (UpdateOnRead)
        {
            entry.Expiry = Math.Max(entry.Expiry, renewed);
        }

        return result;
    }

    public void Add(T value)
    {
        var expiry = NewExpiry();
        ref var entry = ref Lookup();
        if (Unsafe.IsNullRef(ref entry))
        {
            Table.Add(CurrentKey, Namespace, [new TtlValue<T>(value, expiry)], expiry);
            return;
        }

        entry.Value.Add(new TtlValue<T>(value, expiry));
        entry.Expiry = Math.Max(entry.Expiry, expiry);
    }

    public void Update(IEnumerable<T> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var expiry = NewExpiry();
        var elements = new List<TtlValue<T>>();
        foreach (var value in values)
        {
            elements.Add(new TtlValue<T>(value, expiry));
        }

        Clear();
        if (elements.Count > 0)
        {
            Table.Add(CurrentKey, Namespace, elements, expiry);
        }
    }

    public void MergeNamespaces(TNamespace target, ReadOnlySpan<TNamespace> sources) =>
        MergeInto(target, sources, static (_, a, b) =>
        {
            a.AddRange(b);
            return a;
        }, this);

    protected override bool TryView(List<TtlValue<T>> stored, long now, out object? value)
    {
        var copy = new List<T>(stored.Count);
        foreach (var element in stored)
        {
            if (!HasTtl || element.Expiry > now)
            {
                copy.Add(element.Value);
            }
        }

        value = copy;
        return copy.Count > 0;
    }

    protected override bool RemoveExpiredElements(ref List<TtlValue<T>> value, long now)
    {
        var kept = 0;
        for (var i = 0; i < value.Count; i++)
        {
            if (value[i].Expiry > now)
            {
                value[kept++] = value[i];
            }
        }

        value.RemoveRange(kept, value.Count - kept);
        return kept > 0;
    }
}
