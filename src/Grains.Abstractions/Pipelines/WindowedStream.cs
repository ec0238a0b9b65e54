using Sluice.Functions;
using Sluice.Pipelines;
using Sluice.ProcessFunctions;
using Sluice.Windows;

namespace Sluice;

/// <summary>A keyed, windowed stream waiting for its window function.</summary>
public sealed class WindowedStream<T, TKey>
    where TKey : notnull
{
    private readonly KeyByNode<T, TKey> _keyBy;
    private readonly WindowAssigner _assigner;
    private readonly Trigger _trigger;
    private readonly long _allowedLateness;
    private readonly OutputTag<T>? _lateDataTag;
    private readonly IEvictor<T>? _evictor;

    internal WindowedStream(
        KeyByNode<T, TKey> keyBy, WindowAssigner assigner, Trigger trigger, long allowedLateness = 0, OutputTag<T>? lateDataTag = null, IEvictor<T>? evictor = null)
    {
        _keyBy = keyBy;
        _assigner = assigner;
        _trigger = trigger;
        _allowedLateness = allowedLateness;
        _lateDataTag = lateDataTag;
        _evictor = evictor;
    }

    /// <summary>Replaces the assigner's default trigger.</summary>
    /// <exception cref="ArgumentException">The assigner merges windows (sessions) and the trigger cannot merge.</exception>
    public WindowedStream<T, TKey> Trigger(Trigger trigger)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        if (_assigner is MergingWindowAssigner && !trigger.CanMerge)
        {
            throw new ArgumentException($"{_assigner} merges windows, and trigger {trigger.GetType().Name} does not support merging (Trigger.CanMerge).", nameof(trigger));
        }

        return new WindowedStream<T, TKey>(_keyBy, _assigner, trigger, _allowedLateness, _lateDataTag, _evictor);
    }

    /// <summary>
    /// Keeps an event-time window's state for <paramref name="lateness"/> after its end (Flink's <c>allowedLateness</c>):
    /// a record arriving in that time is added and the window fires again with the updated result, marked
    /// <see cref="WindowFiring.Late"/> in <see cref="WindowContext.Firing"/>. The state is cleared when the watermark passes
    /// <c>end - 1 + lateness</c>. Processing-time windows ignore it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lateness"/> is negative.</exception>
    public WindowedStream<T, TKey> AllowedLateness(TimeSpan lateness)
    {
        if (lateness < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(lateness), lateness, "AllowedLateness must not be negative.");
        }

        return new WindowedStream<T, TKey>(_keyBy, _assigner, _trigger, (long)lateness.TotalMilliseconds, _lateDataTag, _evictor);
    }

    /// <summary>
    /// Sends records that arrive after every one of their windows was cleaned up (behind the watermark by more than the
    /// allowed lateness) to <paramref name="tag"/> instead of dropping them; read them with <c>result.SideOutput(tag)</c>
    /// on the stream the window function returns (Flink's <c>sideOutputLateData</c>).
    /// </summary>
    public WindowedStream<T, TKey> SideOutputLateData(OutputTag<T> tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        return new WindowedStream<T, TKey>(_keyBy, _assigner, _trigger, _allowedLateness, tag, _evictor);
    }

    /// <summary>
    /// Removes records from a window before or after its function runs (Flink's <c>evictor</c>): see
    /// <see cref="Sluice.Windows.Evictor"/> for count, time and delta evictors, or implement <see cref="IEvictor{T}"/>.
    /// The window then keeps every record with its timestamp in the state backend, and an aggregate or reduce is computed
    /// over what the evictor leaves when the window fires.
    /// </summary>
    public WindowedStream<T, TKey> Evictor(IEvictor<T> evictor)
    {
        ArgumentNullException.ThrowIfNull(evictor);
        return new WindowedStream<T, TKey>(_keyBy, _assigner, _trigger, _allowedLateness, _lateDataTag, evictor);
    }

    /// <summary>Incremental aggregation; emits the aggregate's result per key and window.</summary>
    public DataStream<TOut> Aggregate<TAcc, TOut>(IAggregateFunction<T, TAcc, TOut> aggregate, string name = "window-aggregate") =>
        Build<TAcc, TOut, TOut>(aggregate, null, name, buffer: false);

    /// <summary>Incremental aggregation whose single result per window is handed, with the window, to a process function.</summary>
    public DataStream<TOut> Aggregate<TAcc, TResult, TOut>(
        IAggregateFunction<T, TAcc, TResult> aggregate,
        IProcessWindowFunction<TResult, TOut, TKey> windowFunction,
        string name = "window-aggregate") =>
        Build(aggregate, windowFunction, name, buffer: false);

    /// <summary>Incremental aggregation with a projection that sees the key and the window.</summary>
    public DataStream<TOut> Aggregate<TAcc, TResult, TOut>(
        IAggregateFunction<T, TAcc, TResult> aggregate,
        Func<TKey, TimeWindow, TResult, TOut> resultSelector,
        string name = "window-aggregate")
    {
        ArgumentNullException.ThrowIfNull(resultSelector);
        return Build(aggregate, new SelectorWindowFunction<TResult, TOut, TKey>(resultSelector), name, buffer: false);
    }

    /// <summary>Combines records pairwise as they arrive.</summary>
    public DataStream<T> Reduce(Func<T, T, T> reduce, string name = "window-reduce")
    {
        ArgumentNullException.ThrowIfNull(reduce);
        return Build<(bool, T), T, T>(new ReduceAggregate<T>(reduce), null, name, buffer: false);
    }

    /// <summary>Reduces incrementally and hands the single result, with the window, to a process function.</summary>
    public DataStream<TOut> Reduce<TOut>(Func<T, T, T> reduce, IProcessWindowFunction<T, TOut, TKey> windowFunction, string name = "window-reduce")
    {
        ArgumentNullException.ThrowIfNull(reduce);
        return Build(new ReduceAggregate<T>(reduce), windowFunction, name, buffer: false);
    }

    /// <summary>Buffers every record of a window and hands them all to the function when the window fires.</summary>
    public DataStream<TOut> Process<TOut>(IProcessWindowFunction<T, TOut, TKey> windowFunction, string name = "window-process")
    {
        ArgumentNullException.ThrowIfNull(windowFunction);
        return Build<List<T>, IReadOnlyList<T>, TOut>(
            BufferAggregate<T>.Instance, new FlattenWindowFunction<T, TOut, TKey>(windowFunction), name, buffer: true);
    }

    private DataStream<TOut> Build<TAcc, TResult, TOut>(
        IAggregateFunction<T, TAcc, TResult> aggregate,
        IProcessWindowFunction<TResult, TOut, TKey>? windowFunction,
        string name,
        bool buffer)
    {
        ArgumentNullException.ThrowIfNull(aggregate);
        var node = new WindowNode<T, TKey, TAcc, TResult, TOut>(
            _keyBy.Pipeline, _keyBy, name, _assigner, _trigger, aggregate, windowFunction, buffer)
        {
            AllowedLateness = _allowedLateness,
            LateDataTag = _lateDataTag,
            Evictor = _evictor,
        };
        return new DataStream<TOut>(node);
    }
}
