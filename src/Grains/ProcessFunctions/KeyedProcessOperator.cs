using Sluice.Operators;
using Sluice.State;
using Sluice.State.Serialization;
using Sluice.Tasks;
using Sluice.Time;

namespace Sluice.ProcessFunctions;

/// <summary>
/// Runs a <see cref="KeyedProcessFunction{TKey,TIn,TOut}"/> for one key group (Flink's <c>KeyedProcessOperator</c>):
/// keyed state lives in the key group's state backend (void namespace), timers in a timer service scoped by key. The
/// operator is the function's context and timer service, so a record or a timer costs no allocation.
/// </summary>
internal sealed partial class KeyedProcessOperator<TIn, TKey, TOut> : IKeyedOperator<TIn, TKey>, IOnTimerContext<TKey>, ITimerService
    where TKey : notnull
{
    private readonly string _name;
    private readonly KeyedProcessFunction<TKey, TIn, TOut> _function;
    private readonly IKeyedStateBackend<TKey> _backend;
    private readonly KeyedRuntimeContext<TKey> _state;
    private readonly StateTime _time;
    private readonly TimerService<ProcessTimerScope<TKey>> _timers = new();
    private readonly TimestampedCollector<TOut> _collector;
    private readonly OperatorCounters _counters;
    private readonly UserErrorReporter _errors;
    private readonly IStateSerializer<ProcessSnapshot<TKey>> _snapshotSerializer;
    private readonly SideOutputs _sideOutputs;
    private long _timestamp = long.MinValue;
    private TimeDomain _domain;

    public KeyedProcessOperator(
        string name,
        KeyedProcessFunction<TKey, TIn, TOut> function,
        IRecordSink<TOut> output,
        IKeyedStateBackend<TKey> backend,
        IStateSerializerProvider serializers,
        OperatorCounters counters,
        UserErrorReporter errors,
        SideOutputs? sideOutputs = null)
    {
        _name = name;
        _function = function;
        _backend = backend;
        _time = backend.Time;
        _state = new KeyedRuntimeContext<TKey>(backend, serializers);
        _snapshotSerializer = serializers.Get<ProcessSnapshot<TKey>>();
        _collector = new TimestampedCollector<TOut>(output, counters);
        _counters = counters;
        _errors = errors;
        _sideOutputs = sideOutputs ?? SideOutputs.None;
        function.Open(_state);
    }

    public long CurrentWatermark { get; private set; } = long.MinValue;

    public long CurrentProcessingTime => _time.ProcessingTime();

    public long? NextProcessingTime => _timers.NextProcessingTime;

    public int StateEntries => _backend.Entries;

    /// <summary>Pending event-time timers (all keys).</summary>
    public int EventTimerCount => _timers.EventTimerCount;

    public int ProcessingTimerCount => _timers.ProcessingTimerCount;

    public TKey CurrentKey => _backend.CurrentKey;

    public long? Timestamp => _timestamp == long.MinValue ? null : _timestamp;

    public IKeyedRuntimeContext State => _state;

    public ITimerService Timers => this;

    public TimeDomain TimeDomain => _domain;

    public void Output<T>(OutputTag<T> tag, T value) => _sideOutputs.Emit(tag, value, _collector.Timestamp);

    public void ProcessElement(TKey key, TIn value, long timestamp)
    {
        _backend.SetCurrentKey(key);
        _timestamp = timestamp;
        _time.CurrentTimestamp = timestamp;
        _collector.Timestamp = timestamp;
        _function.ProcessElement(value, this, _collector);
    }

    /// <summary>
    /// Fires event-time timers up to the watermark in time order (timers a callback registers at or before it fire
    /// too); the task forwards the watermark only after this returns. A lower watermark than the current one changes nothing.
    /// </summary>
    public void OnWatermark(long watermark)
    {
        if (watermark <= CurrentWatermark)
        {
            return;
        }

        CurrentWatermark = watermark;
        _time.Watermark = watermark;
        _domain = TimeDomain.EventTime;
        while (_timers.TryPopEventTime(watermark, out var scope, out var time))
        {
            Fire(scope.Key, time, time);
        }
    }

    public void OnProcessingTime(long now)
    {
        _domain = TimeDomain.ProcessingTime;
        while (_timers.TryPopProcessingTime(now, out var scope, out var time))
        {
            Fire(scope.Key, time, long.MinValue);
        }
    }

    void ITimerService.RegisterEventTimeTimer(long time) => _timers.RegisterEventTime(new ProcessTimerScope<TKey>(_backend.CurrentKey), time);

    void ITimerService.RegisterProcessingTimeTimer(long time) => _timers.RegisterProcessingTime(new ProcessTimerScope<TKey>(_backend.CurrentKey), time);

    void ITimerService.DeleteEventTimeTimer(long time) => _timers.DeleteEventTime(new ProcessTimerScope<TKey>(_backend.CurrentKey), time);

    void ITimerService.DeleteProcessingTimeTimer(long time) => _timers.DeleteProcessingTime(new ProcessTimerScope<TKey>(_backend.CurrentKey), time);

    private void Fire(TKey key, long time, long outputTimestamp)
    {
        _backend.SetCurrentKey(key);
        _timestamp = outputTimestamp;
        _time.CurrentTimestamp = time;
        _collector.Timestamp = outputTimestamp;
        try
        {
            _function.OnTimer(time, this, _collector);
        }
        catch (Exception ex)
        {
            // Under SkipAndCount one failing timer does not keep the others (and the watermark) from moving on; it is counted.
            // Under Fail the report throws and the task fails.
            _errors.Report(ex, $"firing a {_domain} timer at {time} in '{_name}'");
            _counters.InvalidRecords++;
        }
    }
}
