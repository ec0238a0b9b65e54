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
        var elements = Read();
        if (elements is null)
        {
            return [];
        }

        var result = new List<T>(elements.Count);
        for (var i = 0; i < elements.Count; i++)
        {
            result.Add(elements[i].Value);
        }

        return result;
    }

    public void Visit<TVisitor>(ref TVisitor visitor)
        where TVisitor : struct, IListElementVisitor<T>
    {
        var elements = Read();
        if (elements is null)
        {
            return;
        }

        for (var i = 0; i < elements.Count; i++)
        {
            visitor.Visit(elements[i].Value);
        }
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

    /// <summary>As <see cref="Update"/>, refilling the entry's own list when there is one (no snapshot holds it: snapshots are serialized).</summary>
    public void Replace(ReadOnlySpan<T> values)
    {
        var expiry = NewExpiry();
        ref var entry = ref Table.Find(CurrentKey, Namespace);
        if (values.IsEmpty || Unsafe.IsNullRef(ref entry))
        {
            Clear();
            if (!values.IsEmpty)
            {
                var added = new List<TtlValue<T>>(values.Length);
                Fill(added, values, expiry);
                Table.Add(CurrentKey, Namespace, added, expiry);
            }

            return;
        }

        var elements = entry.Value;
        elements.Clear();
        Fill(elements, values, expiry);
        entry.Expiry = expiry;
    }

    public void MergeNamespaces(TNamespace target, ReadOnlySpan<TNamespace> sources) =>
        MergeInto(target, sources, static (_, a, b) =>
        {
            a.AddRange(b);
            return a;
        }, this);

    /// <summary>
    /// The current key's live elements, as a read sees them: expired ones removed (the entry too when none is left), a
    /// time-to-live renewed on read renewed. Null when it has none.
    /// </summary>
    private List<TtlValue<T>>? Read()
    {
        ref var entry = ref Lookup();
        if (Unsafe.IsNullRef(ref entry))
        {
            return null;
        }

        var elements = entry.Value;
        if (HasTtl && !RemoveExpiredElements(ref elements, Now()))
        {
            Clear();
            return null;
        }

        if (UpdateOnRead)
        {
            var renewed = NewExpiry();
            for (var i = 0; i < elements.Count; i++)
            {
                elements[i] = new TtlValue<T>(elements[i].Value, renewed);
            }

            entry.Expiry = Math.Max(entry.Expiry, renewed);
        }

        return elements;
    }

    private static void Fill(List<TtlValue<T>> elements, ReadOnlySpan<T> values, long expiry)
    {
        foreach (var value in values)
        {
            elements.Add(new TtlValue<T>(value, expiry));
        }
    }

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
