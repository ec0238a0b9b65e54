using System.Runtime.CompilerServices;
using Sluice.Functions;
using Sluice.State.Serialization;

namespace Sluice.State.Heap;

/// <summary>An accumulator per (key, namespace), e.g. a window's contents; merging namespaces merges accumulators.</summary>
internal sealed class HeapAggregatingState<TKey, TNamespace, TIn, TAcc, TOut>(
    AggregatingStateDescriptor<TIn, TAcc, TOut> descriptor, KeyContext<TKey> key, StateTime time, IStateSerializerProvider serializers)
    : HeapState<TKey, TNamespace, TAcc>("aggregating", descriptor, key, time, serializers), IInternalAggregatingState<TNamespace, TIn, TAcc, TOut>
    where TKey : notnull
    where TNamespace : notnull
{
    private readonly IAggregateFunction<TIn, TAcc, TOut> _aggregate = descriptor.Aggregate;

    public void Add(TIn value)
    {
        ref var entry = ref Lookup();
        if (Unsafe.IsNullRef(ref entry))
        {
            // Created and added before it enters the table: a function that throws leaves no half-made entry.
            Table.Add(CurrentKey, Namespace, _aggregate.Add(value, _aggregate.CreateAccumulator()), NewExpiry());
            return;
        }

        entry.Value = _aggregate.Add(value, entry.Value);
        if (HasTtl)
        {
            entry.Expiry = NewExpiry();
        }
    }

    public bool TryGet(out TOut result)
    {
        if (TryGetAccumulator(out var accumulator))
        {
            result = _aggregate.GetResult(accumulator);
            return true;
        }

        result = default!;
        return false;
    }

    protected override bool TryView(TAcc stored, long now, out object? value)
    {
        value = _aggregate.GetResult(stored);
        return true;
    }

    public bool TryGetAccumulator(out TAcc accumulator)
    {
        ref var entry = ref Lookup();
        if (Unsafe.IsNullRef(ref entry))
        {
            accumulator = default!;
            return false;
        }

        if (UpdateOnRead)
        {
            entry.Expiry = NewExpiry();
        }

        accumulator = entry.Value;
        return true;
    }

    public void MergeNamespaces(TNamespace target, ReadOnlySpan<TNamespace> sources) =>
        MergeInto(target, sources, static (self, a, b) => self._aggregate.Merge(a, b), this);
}

/// <summary>A value per (key, namespace) folded with a reduce function; merging namespaces reduces their values.</summary>
internal sealed class HeapReducingState<TKey, TNamespace, T>(
    ReducingStateDescriptor<T> descriptor, KeyContext<TKey> key, StateTime time, IStateSerializerProvider serializers)
    : HeapState<TKey, TNamespace, T>("reducing", descriptor, key, time, serializers), IInternalReducingState<TNamespace, T>
    where TKey : notnull
    where TNamespace : notnull
{
    private readonly Func<T, T, T> _reduce = descriptor.Reduce;

    public void Add(T value)
    {
        ref var entry = ref Lookup();
        if (Unsafe.IsNullRef(ref entry))
        {
            Table.Add(CurrentKey, Namespace, value, NewExpiry());
            return;
        }

        entry.Value = _reduce(entry.Value, value);
        if (HasTtl)
        {
            entry.Expiry = NewExpiry();
        }
    }

    public bool TryGet(out T value)
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

    public void MergeNamespaces(TNamespace target, ReadOnlySpan<TNamespace> sources) =>
        MergeInto(target, sources, static (self, a, b) => self._reduce(a, b), this);
}
