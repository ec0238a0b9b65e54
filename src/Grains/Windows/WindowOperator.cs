using System.Runtime.CompilerServices;
using Sluice.Functions;
using Sluice.Operators;
using Sluice.Pipelines;
using Sluice.State;
using Sluice.Tasks;
using Sluice.Time;

namespace Sluice.Windows;

/// <summary>
/// Keyed windows for one key group (Flink's <c>WindowOperator</c> for non-merging assigners): the assigner
/// picks windows, the accumulator per (key, window) lives in <see cref="WindowState{TKey,TAcc}"/>, the trigger
/// decides when to fire through timers, and the emitter turns a fired accumulator into output records
/// stamped with the window's max timestamp.
/// </summary>
internal sealed partial class WindowOperator<TIn, TKey, TAcc, TResult, TOut> : IKeyedOperator<TIn, TKey>, ITriggerContext
    where TKey : notnull
{
    private readonly WindowAssigner _assigner;
    private readonly Trigger _trigger;
    private readonly IAggregateFunction<TIn, TAcc, TResult> _aggregate;
    private readonly IProcessWindowFunction<TResult, TOut, TKey>? _windowFunction;
    private readonly Func<TAcc> _createAccumulator;
    private readonly WindowState<TKey, TAcc> _state = new();
    private readonly TimerService<WindowScope<TKey>> _timers = new();
    private readonly TimeWindow[] _assigned;
    private readonly TimestampedCollector<TOut> _collector;
    private readonly SingleItemList<TResult> _single = new();
    private readonly Func<long> _processingClock;
    private readonly OperatorCounters _counters;
    private readonly UserErrorReporter _errors;
    private readonly Orleans.Serialization.Serializer<State.Snapshots.WindowSnapshot<TKey, TAcc>>? _snapshotSerializer;
    private readonly string _name;
    private WindowScope<TKey> _scope;

    public WindowOperator(
        WindowNode<TIn, TKey, TAcc, TResult, TOut> node,
        IRecordSink<TOut> output,
        Func<long> processingClock,
        OperatorCounters counters,
        UserErrorReporter errors,
        Orleans.Serialization.Serializer<State.Snapshots.WindowSnapshot<TKey, TAcc>>? snapshotSerializer = null)
    {
        _snapshotSerializer = snapshotSerializer;
        _name = node.Name;
        _assigner = node.Assigner;
        _trigger = node.Trigger;
        _aggregate = node.Aggregate;
        _windowFunction = node.WindowFunction;
        _createAccumulator = _aggregate.CreateAccumulator;
        _assigned = new TimeWindow[_assigner.MaxWindowsPerRecord];
        _collector = new TimestampedCollector<TOut>(output, counters);
        _processingClock = processingClock;
        _counters = counters;
        _errors = errors;
    }

    public long CurrentWatermark { get; private set; } = long.MinValue;

    public long CurrentProcessingTime => _processingClock();

    public long? NextProcessingTime => _timers.NextProcessingTime;

    public int StateEntries => _state.Count;

    public void ProcessElement(TKey key, TIn value, long timestamp)
    {
        var count = _assigner.AssignWindows(timestamp, _assigner.IsEventTime ? 0 : _processingClock(), _assigned);
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
            ref var accumulator = ref _state.GetOrCreate(_scope, _createAccumulator);
            accumulator = _aggregate.Add(value, accumulator);
            var result = _trigger.OnElement(timestamp, window, this);
            Apply(result, accumulator);
            RegisterCleanupTimer(window);
        }

        if (!accepted && count > 0)
        {
            // Every window of the record has closed: Flink drops it (or sends it to the late side output).
            _counters.LateRecordsDropped++;
        }
    }

    /// <summary>Fires event-time timers up to the watermark. Time never goes back: a lower one (e.g. from inputs that restart below the restored watermark) changes nothing.</summary>
    public void OnWatermark(long watermark)
    {
        if (watermark <= CurrentWatermark)
        {
            return;
        }

        CurrentWatermark = watermark;
        while (_timers.TryPopEventTime(watermark, out var scope, out var time))
        {
            _scope = scope;
            var hasState = _state.TryGet(scope, out var accumulator);
            if (hasState)
            {
                Apply(_trigger.OnEventTime(time, scope.Window, this), accumulator);
            }

            if (_assigner.IsEventTime && time == CleanupTime(scope.Window))
            {
                Clear();
            }
        }
    }

    public void OnProcessingTime(long now)
    {
        while (_timers.TryPopProcessingTime(now, out var scope, out var time))
        {
            _scope = scope;
            if (_state.TryGet(scope, out var accumulator))
            {
                Apply(_trigger.OnProcessingTime(time, scope.Window, this), accumulator);
            }

            if (!_assigner.IsEventTime && time == CleanupTime(scope.Window))
            {
                Clear();
            }
        }
    }

    void ITriggerContext.RegisterEventTimeTimer(long time) => _timers.RegisterEventTime(_scope, time);

    void ITriggerContext.RegisterProcessingTimeTimer(long time) => _timers.RegisterProcessingTime(_scope, time);

    void ITriggerContext.DeleteEventTimeTimer(long time) => _timers.DeleteEventTime(_scope, time);

    void ITriggerContext.DeleteProcessingTimeTimer(long time) => _timers.DeleteProcessingTime(_scope, time);

    private bool IsLate(TimeWindow window) => _assigner.IsEventTime && CleanupTime(window) <= CurrentWatermark;

    // Allowed lateness is zero until late-data handling lands: state is dropped when the window fires.
    private static long CleanupTime(TimeWindow window) => window.MaxTimestamp;

    private void RegisterCleanupTimer(TimeWindow window)
    {
        if (window.MaxTimestamp == long.MaxValue)
        {
            return; // the global window is never cleaned up by time
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

    private void Apply(TriggerResult result, TAcc accumulator)
    {
        if ((result & TriggerResult.Fire) != 0)
        {
            try
            {
                Emit(accumulator);
            }
            catch (Exception ex)
            {
                // One failing window must not stop the others from firing; its output is lost and counted.
                _counters.InvalidRecords++;
                _errors.Report(ex, $"emitting window {_scope.Window}");
            }
        }

        if ((result & TriggerResult.Purge) != 0)
        {
            _state.Remove(_scope);
        }
    }

    private void Clear()
    {
        _state.Remove(_scope);
        _trigger.Clear(_scope.Window, this);
    }

    private void Emit(TAcc accumulator)
    {
        var window = _scope.Window;
        var result = _aggregate.GetResult(accumulator);
        _collector.Timestamp = window.MaxTimestamp;
        if (_windowFunction is null)
        {
            // The builder only omits the window function when TResult and TOut are the same type.
            _collector.Collect(Unsafe.As<TResult, TOut>(ref result));
            return;
        }

        _single.Value = result;
        _windowFunction.Process(_scope.Key, new WindowContext(window, CurrentWatermark, _processingClock()), _single, _collector);
        _single.Value = default!;
    }
}
