using Sluice.Functions;
using Sluice.Joins;
using Sluice.Operators;
using Sluice.State;
using Sluice.State.Serialization;
using Sluice.Tasks;
using Sluice.Time;

namespace Sluice.ProcessFunctions;

/// <summary>
/// What every process-function operator of a key group shares (Flink's <c>AbstractStreamOperator</c> with its
/// <c>InternalTimerService</c>): keyed state in the key group's state backend (void namespace), timers scoped by key,
/// the watermark, side outputs, and the context and timer service a function sees. The operator is that context, so a
/// record or a timer costs no allocation. Subclasses call the function: one input, two keyed inputs, or keyed plus broadcast.
/// </summary>
internal abstract partial class ProcessOperatorBase<TKey, TOut> : IOnTimerContext<TKey>, ITimerService, IJoinRuntime
    where TKey : notnull
{
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

    protected ProcessOperatorBase(
        string name,
        IRecordSink<TOut> output,
        IKeyedStateBackend<TKey> backend,
        IStateSerializerProvider serializers,
        OperatorCounters counters,
        UserErrorReporter errors,
        SideOutputs? sideOutputs)
    {
        Name = name;
        _backend = backend;
        _time = backend.Time;
        _state = new KeyedRuntimeContext<TKey>(backend, serializers);
        _snapshotSerializer = serializers.Get<ProcessSnapshot<TKey>>();
        _collector = new TimestampedCollector<TOut>(output, counters);
        _counters = counters;
        _errors = errors;
        _sideOutputs = sideOutputs ?? SideOutputs.None;
    }

    protected string Name { get; }

    /// <summary>What the function emits to; stamped with the record's (or event-time timer's) timestamp.</summary>
    protected ICollector<TOut> Collector => _collector;

    protected IKeyedStateBackend<TKey> Backend => _backend;

    public long CurrentWatermark { get; private set; } = long.MinValue;

    public long CurrentProcessingTime => _time.ProcessingTime();

    public long? NextProcessingTime => _timers.NextProcessingTime;

    public virtual int StateEntries => _backend.Entries;

    /// <summary>Pending event-time timers (all keys).</summary>
    public int EventTimerCount => _timers.EventTimerCount;

    public int ProcessingTimerCount => _timers.ProcessingTimerCount;

    public TKey CurrentKey => _backend.CurrentKey;

    public long? Timestamp => _timestamp == long.MinValue ? null : _timestamp;

    public IKeyedRuntimeContext State => _state;

    public ITimerService Timers => this;

    public TimeDomain TimeDomain => _domain;

    public void Output<T>(OutputTag<T> tag, T value) => _sideOutputs.Emit(tag, value, _collector.Timestamp);

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

    void IJoinRuntime.CountLateRecord() => _counters.LateRecordsDropped++;

    void IJoinRuntime.SetOutputTimestamp(long timestamp) => _collector.Timestamp = timestamp;

    /// <summary>Makes <paramref name="key"/> current and stamps what follows with the record's timestamp.</summary>
    protected void BeginElement(TKey key, long timestamp)
    {
        _backend.SetCurrentKey(key);
        BeginElement(timestamp);
    }

    /// <summary>Stamps what follows with a record's timestamp, keeping the current key (a broadcast record has none).</summary>
    protected void BeginElement(long timestamp)
    {
        _timestamp = timestamp;
        _time.CurrentTimestamp = timestamp;
        _collector.Timestamp = timestamp;
    }

    /// <summary>Calls the function's <c>OnTimer</c> with the timer's key current.</summary>
    protected abstract void InvokeOnTimer(long time);

    private void Fire(TKey key, long time, long outputTimestamp)
    {
        _backend.SetCurrentKey(key);
        _timestamp = outputTimestamp;
        _time.CurrentTimestamp = time;
        _collector.Timestamp = outputTimestamp;
        try
        {
            InvokeOnTimer(time);
        }
        catch (Exception ex)
        {
            // Under SkipAndCount one failing timer does not keep the others (and the watermark) from moving on; it is counted.
            // Under Fail the report throws and the task fails.
            _errors.Report(ex, $"firing a {_domain} timer at {time} in '{Name}'");
            _counters.InvalidRecords++;
        }
    }
}
