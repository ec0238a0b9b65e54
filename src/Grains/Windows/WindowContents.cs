using System.Runtime.InteropServices;
using Sluice.Functions;
using Sluice.State;
using Sluice.State.Serialization;

namespace Sluice.Windows;

/// <summary>
/// Where a window operator keeps what its windows hold, in the state backend under the window's namespace: an
/// incrementally folded accumulator, or (with an evictor) every record with its timestamp, folded when the window fires
/// (Flink's <c>WindowOperator</c> versus <c>EvictingWindowOperator</c>).
/// </summary>
internal interface IWindowContents<in TIn, TResult>
{
    void SetCurrentNamespace(TimeWindow stateWindow);

    void Add(TIn value, long timestamp);

    /// <summary>The result to hand to the window function (after evicting what goes before it); false when there is none.</summary>
    bool TryGetResult(TimeWindow window, IEvictorContext context, out TResult result);

    /// <summary>Called after the function ran for the result of <see cref="TryGetResult"/>: evicts what goes after it.</summary>
    void AfterEmit(TimeWindow window, IEvictorContext context);

    void Clear();

    void MergeNamespaces(TimeWindow target, ReadOnlySpan<TimeWindow> sources);
}

/// <summary>An accumulator per key and window, folded record by record (no evictor).</summary>
internal sealed class AggregatingWindowContents<TIn, TAcc, TResult>(
    IInternalAggregatingState<TimeWindow, TIn, TAcc, TResult> state, IAggregateFunction<TIn, TAcc, TResult> aggregate)
    : IWindowContents<TIn, TResult>
{
    public void SetCurrentNamespace(TimeWindow stateWindow) => state.SetCurrentNamespace(stateWindow);

    public void Add(TIn value, long timestamp) => state.Add(value);

    public bool TryGetResult(TimeWindow window, IEvictorContext context, out TResult result)
    {
        if (state.TryGetAccumulator(out var accumulator))
        {
            result = aggregate.GetResult(accumulator);
            return true;
        }

        result = default!;
        return false;
    }

    public void AfterEmit(TimeWindow window, IEvictorContext context)
    {
    }

    public void Clear() => state.Clear();

    public void MergeNamespaces(TimeWindow target, ReadOnlySpan<TimeWindow> sources) => state.MergeNamespaces(target, sources);
}

/// <summary>
/// Every record with its timestamp per key and window; on firing the evictor trims the list before the aggregate folds it,
/// and again after the function ran; what is left is written back (all of it gone: the window's contents are cleared).
/// The records are read into one list per operator, reused for every firing.
/// </summary>
internal sealed class EvictingWindowContents<TIn, TAcc, TResult>(
    IInternalListState<TimeWindow, TimestampedValue<TIn>> state, IAggregateFunction<TIn, TAcc, TResult> aggregate, IEvictor<TIn> evictor)
    : IWindowContents<TIn, TResult>
{
    /// <summary>The name of the records' list state (not the aggregating contents' name, so a snapshot of one never restores into the other).</summary>
    public const string StateName = "_window-elements";

    private readonly List<TimestampedValue<TIn>> _elements = [];
    private int _countBefore;

    public void SetCurrentNamespace(TimeWindow stateWindow) => state.SetCurrentNamespace(stateWindow);

    public void Add(TIn value, long timestamp) => state.Add(new TimestampedValue<TIn>(value, timestamp));

    public bool TryGetResult(TimeWindow window, IEvictorContext context, out TResult result)
    {
        _elements.Clear();
        var append = new AppendTo<TimestampedValue<TIn>>(_elements);
        state.Visit(ref append);
        _countBefore = _elements.Count;
        if (_countBefore == 0)
        {
            result = default!;
            return false;
        }

        if (!Evict(after: false, window, context))
        {
            // Nothing left for the function: Flink would call it with no records; an aggregate has no result to give then.
            result = default!;
            return false;
        }

        var accumulator = aggregate.CreateAccumulator();
        foreach (var element in _elements)
        {
            accumulator = aggregate.Add(element.Value, accumulator);
        }

        result = aggregate.GetResult(accumulator);
        return true;
    }

    public void AfterEmit(TimeWindow window, IEvictorContext context) => Evict(after: true, window, context);

    public void Clear() => state.Clear();

    public void MergeNamespaces(TimeWindow target, ReadOnlySpan<TimeWindow> sources) => state.MergeNamespaces(target, sources);

    /// <summary>
    /// Runs the evictor on the records read for this firing, before or after the function. After it, or when nothing is
    /// left for the function, what is left is written back (only when something was evicted); before it, the records
    /// stay for the function and the write waits for <see cref="AfterEmit"/>. False when no record is left.
    /// </summary>
    private bool Evict(bool after, TimeWindow window, IEvictorContext context)
    {
        if (after)
        {
            evictor.EvictAfter(_elements, window, context);
        }
        else
        {
            evictor.EvictBefore(_elements, window, context);
        }

        var any = _elements.Count > 0;
        if (after || !any)
        {
            // Written only when something was evicted (else the stored list is this one); none left clears the contents.
            if (_elements.Count != _countBefore)
            {
                state.Replace(CollectionsMarshal.AsSpan(_elements));
            }

            _elements.Clear();
        }

        return any;
    }
}

internal static class WindowContents
{
    public static IWindowContents<TIn, TResult> Create<TKey, TIn, TAcc, TResult>(
        IKeyedStateBackend<TKey> backend, IStateSerializerProvider serializers, IAggregateFunction<TIn, TAcc, TResult> aggregate, IEvictor<TIn>? evictor)
        where TKey : notnull
    {
        var namespaces = serializers.Get<TimeWindow>();
        return evictor is null
            ? new AggregatingWindowContents<TIn, TAcc, TResult>(
                backend.GetAggregatingState(namespaces, new AggregatingStateDescriptor<TIn, TAcc, TResult>(WindowOperatorNames.ContentsState, aggregate)), aggregate)
            : new EvictingWindowContents<TIn, TAcc, TResult>(
                backend.GetListState(namespaces, new ListStateDescriptor<TimestampedValue<TIn>>(EvictingWindowContents<TIn, TAcc, TResult>.StateName)), aggregate, evictor);
    }
}

internal static class WindowOperatorNames
{
    /// <summary>The name of the window contents' state in the backend.</summary>
    public const string ContentsState = "_window-contents";
}
