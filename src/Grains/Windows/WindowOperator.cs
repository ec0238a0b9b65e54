using System.Runtime.CompilerServices;
using Sluice.Functions;
using Sluice.Operators;
using Sluice.Pipelines;
using Sluice.ProcessFunctions;
using Sluice.State;
using Sluice.State.Serialization;
using Sluice.State.Snapshots;
using Sluice.Tasks;
using Sluice.Time;

namespace Sluice.Windows;

/// <summary>
/// Keyed windows for one key group (Flink's <c>WindowOperator</c> for non-merging assigners): the assigner
/// picks windows, the accumulator per (key, window) is aggregating state in the key group's state backend (namespace =
/// window), the trigger decides when to fire through timers, and the emitter turns a fired accumulator into output
/// records stamped with the window's max timestamp. The operator owns no state of its own besides its timers.
/// </summary>
internal sealed partial class WindowOperator<TIn, TKey, TAcc, TResult, TOut> : IKeyedOperator<TIn, TKey>, ITriggerContext, IEvictorContext
    where TKey : notnull
{
    private readonly WindowAssigner _assigner;
    private readonly IElementWindowAssigner<TIn>? _elementAssigner;
    private readonly Trigger _trigger;
    private readonly IAggregateFunction<TIn, TAcc, TResult> _aggregate;
    private readonly IProcessWindowFunction<TResult, TOut, TKey>? _windowFunction;
    private readonly IKeyedStateBackend<TKey> _backend;
    private readonly IWindowContents<TIn, TResult> _contents;
    private readonly IStateSerializer<TimeWindow> _windowNamespaces;
    private readonly WindowProcessState<TKey> _processState;
    private readonly StateTime _time;
    private readonly TimerService<WindowScope<TKey>> _timers = new();
    private readonly TimeWindow[] _assigned;
    private readonly TimestampedCollector<TOut> _collector;
    private readonly SingleItemList<TResult> _single = new();
    private readonly OperatorCounters _counters;
    private readonly UserErrorReporter _errors;
    private readonly IStateSerializer<WindowSnapshot<TKey>> _snapshotSerializer;
    private readonly string _name;
    private readonly long _allowedLateness;
    private readonly OutputTag<TIn>? _lateDataTag;
    private readonly SideOutputs _sideOutputs;
    private WindowScope<TKey> _scope;
    private WindowFiring _firing;

    /// <summary>The name of the window contents' state in the backend.</summary>
    public const string ContentsState = WindowOperatorNames.ContentsState;

    public WindowOperator(
        WindowNode<TIn, TKey, TAcc, TResult, TOut> node,
        IRecordSink<TOut> output,
        IKeyedStateBackend<TKey> backend,
        IStateSerializerProvider serializers,
        OperatorCounters counters,
        UserErrorReporter errors,
        SideOutputs? sideOutputs = null)
    {
        _name = node.Name;
        _allowedLateness = node.Assigner.IsEventTime ? node.AllowedLateness : 0;
        _lateDataTag = node.LateDataTag;
        _sideOutputs = sideOutputs ?? SideOutputs.None;
        _assigner = node.Assigner;
        _trigger = node.Trigger;
        _aggregate = node.Aggregate;
        _windowFunction = node.WindowFunction;
        _backend = backend;
        _time = backend.Time;
        _contents = WindowContents.Create(backend, serializers, _aggregate, node.Evictor);
        _windowNamespaces = serializers.Get<TimeWindow>();
        _processState = new WindowProcessState<TKey>(backend, serializers, _assigner is MergingWindowAssigner);
        _snapshotSerializer = serializers.Get<WindowSnapshot<TKey>>();
        _assigned = new TimeWindow[_assigner.MaxWindowsPerRecord];
        _elementAssigner = _assigner as IElementWindowAssigner<TIn>;
        if (_assigner is MergingWindowAssigner merging)
        {
            if (!_trigger.CanMerge)
            {
                throw new InvalidOperationException($"Window stage '{_name}': {merging} merges windows, and its trigger {_trigger.GetType().Name} does not support merging.");
            }

            _merging = new MergingWindowSet(merging, backend.GetValueState(serializers.Get<VoidNamespace>(), new ValueStateDescriptor<TimeWindow[]>(MergingWindowSet.StateName)));
        }

        _collector = new TimestampedCollector<TOut>(output, counters);
        _counters = counters;
        _errors = errors;
    }

    public long CurrentWatermark { get; private set; } = long.MinValue;

    public long CurrentProcessingTime => _time.ProcessingTime();

    public long? NextProcessingTime => _timers.NextProcessingTime;

    public int StateEntries => _backend.Entries;

    public void ProcessElement(TKey key, TIn value, long timestamp)
    {
        var now = _assigner.IsEventTime ? 0 : _time.ProcessingTime();
        var count = _elementAssigner is null
            ? _assigner.AssignWindows(timestamp, now, _assigned)
            : _elementAssigner.AssignWindows(value, timestamp, now, _assigned);
        _backend.SetCurrentKey(key);
        _time.CurrentTimestamp = timestamp;
        var accepted = _merging is null
            ? AddToWindows(key, value, timestamp, count)
            : AddToMergingWindows(key, value, timestamp, count);
        if (!accepted && count > 0 && IsLate(timestamp))
        {
            // Every window of the record has been cleaned up: Flink sends it to the late side output or drops it.
            if (_lateDataTag is null)
            {
                _counters.LateRecordsDropped++;
            }
            else
            {
                _counters.LateRecordsSideOutput++;
                _sideOutputs.Emit(_lateDataTag, value, timestamp);
            }
        }
    }

    private bool AddToWindows(TKey key, TIn value, long timestamp, int count)
    {
        var accepted = false;
        for (var i = 0; i < count; i++)
        {
            var window = _assigned[i];
            if (IsLate(window))
            {
                continue;
            }

            accepted = true;
            _scope = new WindowScope<TKey>(key, window);
            _contents.SetCurrentNamespace(window);
            _contents.Add(value, timestamp);
            _firing = FiringOf(window);
            Apply(_trigger.OnElement(value, timestamp, window, this));
            RegisterCleanupTimer(window);
        }

        return accepted;
    }

    /// <summary>Fires event-time timers up to the watermark. Time never goes back: a lower one (e.g. from inputs that restart below the restored watermark) changes nothing.</summary>
    public void OnWatermark(long watermark)
    {
        if (watermark <= CurrentWatermark)
        {
            return;
        }

        CurrentWatermark = watermark;
        _time.Watermark = watermark;
        while (_timers.TryPopEventTime(watermark, out var scope, out var time))
        {
            if (!SetScope(scope, time))
            {
                continue;
            }

            // As in Flink the trigger hears every timer, with or without contents (a purged window keeps its continuous timers).
            _firing = time == scope.Window.MaxTimestamp ? WindowFiring.OnTime : FiringOf(scope.Window);
            Apply(_trigger.OnEventTime(time, scope.Window, this));

            if (_assigner.IsEventTime && time == CleanupTime(scope.Window))
            {
                Clear();
            }

            _merging?.Persist();
        }
    }

    public void OnProcessingTime(long now)
    {
        while (_timers.TryPopProcessingTime(now, out var scope, out var time))
        {
            if (!SetScope(scope, time))
            {
                continue;
            }

            _firing = time == scope.Window.MaxTimestamp ? WindowFiring.OnTime : FiringOf(scope.Window);
            Apply(_trigger.OnProcessingTime(time, scope.Window, this));

            if (!_assigner.IsEventTime && time == CleanupTime(scope.Window))
            {
                Clear();
            }

            _merging?.Persist();
        }
    }

    void ITriggerContext.RegisterEventTimeTimer(long time) => _timers.RegisterEventTime(_scope, time);

    void ITriggerContext.RegisterProcessingTimeTimer(long time) => _timers.RegisterProcessingTime(_scope, time);

    void ITriggerContext.DeleteEventTimeTimer(long time) => _timers.DeleteEventTime(_scope, time);

    void ITriggerContext.DeleteProcessingTimeTimer(long time) => _timers.DeleteProcessingTime(_scope, time);

    IValueState<T> ITriggerContext.GetState<T>(ValueStateDescriptor<T> descriptor)
    {
        var state = _backend.GetValueState(_windowNamespaces, descriptor);
        state.SetCurrentNamespace(_scope.Window);
        return state;
    }

    IReducingState<T> ITriggerContext.GetReducingState<T>(ReducingStateDescriptor<T> descriptor)
    {
        var state = _backend.GetReducingState(_windowNamespaces, descriptor);
        state.SetCurrentNamespace(_scope.Window);
        return state;
    }

    void ITriggerContext.MergeReducingState<T>(ReducingStateDescriptor<T> descriptor)
    {
        if (_mergedCount < 0)
        {
            throw new InvalidOperationException($"Window stage '{_name}': trigger state can only be merged while windows merge (Trigger.OnMerge).");
        }

        var state = _backend.GetReducingState(_windowNamespaces, descriptor);
        state.MergeNamespaces(_scope.Window, _mergeScratch.AsSpan(0, _mergedCount));
        state.SetCurrentNamespace(_scope.Window);
    }

    /// <summary>
    /// Makes a timer's key and window current, with the contents' namespace the window's state window; false for a timer
    /// of a window that merged away or was retired (nothing to do, as in Flink).
    /// </summary>
    private bool SetScope(in WindowScope<TKey> scope, long time)
    {
        _scope = scope;
        _backend.SetCurrentKey(scope.Key);
        _time.CurrentTimestamp = time;
        var stateWindow = scope.Window;
        if (_merging is not null)
        {
            _merging.Load();
            if (!_merging.TryGetStateWindow(scope.Window, out stateWindow))
            {
                return false;
            }
        }

        _contents.SetCurrentNamespace(stateWindow);
        return true;
    }

    /// <summary>Flink's <c>isWindowLate</c>: an event-time window whose state has been (or is being) cleaned up.</summary>
    private bool IsLate(TimeWindow window) => _assigner.IsEventTime && CleanupTime(window) <= CurrentWatermark;

    /// <summary>Flink's <c>isElementLate</c>: a record behind the watermark by more than the allowed lateness.</summary>
    private bool IsLate(long timestamp) => _assigner.IsEventTime && timestamp + _allowedLateness <= CurrentWatermark;

    /// <summary>
    /// When a window's state goes: <c>end - 1 + allowed lateness</c> (saturating at <c>long.MaxValue</c>, which is never
    /// cleaned up, as in Flink). At that time the cleanup timer clears the contents and the trigger's timers.
    /// </summary>
    private long CleanupTime(TimeWindow window)
    {
        var cleanup = window.MaxTimestamp + _allowedLateness;
        return cleanup >= window.MaxTimestamp ? cleanup : long.MaxValue;
    }

    /// <summary>Which firing a trigger's Fire for <paramref name="window"/> is, outside its on-time timer.</summary>
    private WindowFiring FiringOf(TimeWindow window) =>
        _assigner.IsEventTime && window.MaxTimestamp <= CurrentWatermark ? WindowFiring.Late : WindowFiring.Early;

    private void RegisterCleanupTimer(TimeWindow window)
    {
        if (CleanupTime(window) == long.MaxValue)
        {
            return; // a window ending at long.MaxValue (the global window) is never cleaned up by time
        }

        if (_assigner.IsEventTime)
        {
            _timers.RegisterEventTime(_scope, CleanupTime(window));
        }
        else
        {
            _timers.RegisterProcessingTime(_scope, CleanupTime(window));
        }
    }

    /// <summary>Acts on a trigger's answer for the current scope (the backend's current key and the contents' namespace).</summary>
    private void Apply(TriggerResult result)
    {
        if ((result & TriggerResult.Fire) != 0 && _contents.TryGetResult(_scope.Window, this, out var contents))
        {
            try
            {
                Emit(contents);
                _contents.AfterEmit(_scope.Window, this);
            }
            catch (Exception ex)
            {
                // Under SkipAndCount one failing window does not stop the others from firing (its output is lost and counted);
                // under Fail the report throws and the task fails.
                _errors.Report(ex, $"emitting window {_scope.Window}");
                _counters.InvalidRecords++;
            }
        }

        if ((result & TriggerResult.Purge) != 0)
        {
            _contents.Clear();
        }
    }

    /// <summary>Flink's <c>clearAllState</c>: the window's contents, its trigger state and timers, and its per-window process state.</summary>
    private void Clear()
    {
        _contents.Clear();
        _trigger.Clear(_scope.Window, this);
        _processState.ClearWindow(_scope.Window);
        _merging?.RetireWindow(_scope.Window);
    }

    private void Emit(TResult result)
    {
        var window = _scope.Window;
        _collector.Timestamp = window.MaxTimestamp;
        if (_windowFunction is null)
        {
            // The builder only omits the window function when TResult and TOut are the same type.
            _collector.Collect(Unsafe.As<TResult, TOut>(ref result));
            return;
        }

        _single.Value = result;
        _processState.SetWindow(window);
        var context = new WindowContext(window, CurrentWatermark, _time.ProcessingTime())
        {
            Firing = _firing,
            WindowState = _processState.Window,
            GlobalState = _processState.Global,
        };
        _windowFunction.Process(_scope.Key, context, _single, _collector);
        _single.Value = default!;
    }
}
