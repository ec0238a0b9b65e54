using System.Runtime.CompilerServices;
using Sluice.State.Serialization;

namespace Sluice.State.Heap;

internal sealed class HeapValueState<TKey, TNamespace, T>(ValueStateDescriptor<T> descriptor, KeyContext<TKey> key, StateTime time, IStateSerializerProvider serializers)
    : HeapState<TKey, TNamespace, T>("value", descriptor, key, time, serializers), IInternalValueState<TNamespace, T>
    where TKey : notnull
    where TNamespace : notnull
{
    public bool TryGetValue(out T value)
    {
        ref var entry = ref Lookup();
        if (Unsafe.IsNullRef(ref entry))
        {
            value = default!;
            return false;
        }

        if (UpdateOnRead)
        {
            entry.Expiry = NewExpiry();
        }

        value = entry.Value;
        return true;
    }

    public T? Value() => TryGetValue(out var value) ? value : default;

    public void Update(T value)
    {
        ref var entry = ref Lookup();
        if (Unsafe.IsNullRef(ref entry))
        {
            Table.Add(CurrentKey, Namespace, value, NewExpiry());
            return;
        }

        entry.Value = value;
        entry.Expiry = NewExpiry();
    }
}
