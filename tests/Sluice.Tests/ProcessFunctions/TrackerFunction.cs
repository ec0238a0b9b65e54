using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.State;
using Sluice.Tests.Properties;

namespace Sluice.Tests.ProcessFunctions;

/// <summary>
/// One output of <see cref="TrackerFunction"/>: what fired (<see cref="Kind"/>), for which key and bucket start, and the
/// key's state at that moment in <see cref="Detail"/>, so a lost or duplicated piece of state or timer changes it.
/// </summary>
[GenerateSerializer, Immutable]
public readonly record struct Tracked(
    [property: Id(0)] string Kind,
    [property: Id(1)] string Key,
    [property: Id(2)] long Start,
    [property: Id(3)] string Detail)
{
    public override string ToString() => $"{Kind} {Key}@{Start} {Detail}";
}

/// <summary>
/// A keyed process function whose output is exactly predictable from its input, whatever the batch boundaries and
/// the interleaving of partitions, but depends on every piece of its state and every timer:
/// <list type="bullet">
/// <item>An on-time record (timestamp after the watermark) goes into its bucket (map state: start to count, sum, min,
/// max), counts its value (map state), registers an event-time timer at the bucket's last millisecond, a reminder
/// timer <see cref="ReminderDelay"/> later (remembered in map state) and, once per key, a final timer at
/// <c>long.MaxValue</c>; the first record of a bucket also registers a processing-time ping.</item>
/// <item>A bucket timer emits the bucket with the running total of closed buckets (value state) and the last sums of
/// the key's bucket history (list state), then forgets the bucket; when the bucket's sum is even it deletes its reminder.</item>
/// <item>A reminder emits the running total and history length at its time: what closed before it. An event-time timer
/// that finds neither its bucket nor its reminder (deleted, or fired twice) emits a record the oracle never expects.</item>
/// <item>A late record (timestamp at or behind the watermark) is added to the key's late list (list state) and sent to
/// <see cref="Late"/>; it touches no bucket.</item>
/// <item>The final timer emits the key's totals, value counts and sorted late values.</item>
/// <item>A ping (processing time, always at an even time) emits its bucket once and deletes the key's fallback timer
/// <see cref="FallbackDelay"/> (odd) after it; a fallback that fires anyway emits a record the oracle never expects.</item>
/// </list>
/// Records of one key may come from several partitions in any order, so everything a bucket shows is a commutative
/// aggregate, and buckets fire in time order per key, so the running total and history are fixed by the input alone.
/// </summary>
internal sealed class TrackerFunction(long bucketSize, long reminderDelay, long pingDelay, long fallbackDelay) : KeyedProcessFunction<string, Event, Tracked>
{
    public static OutputTag<Event> Late { get; } = new("late");

    private IMapState<long, (long Count, long Sum, long Min, long Max)> _buckets = null!;
    private IMapState<long, long> _reminders = null!;
    private IMapState<long, long> _pings = null!;
    private IMapState<long, long> _valueCounts = null!;
    private IValueState<long> _closedTotal = null!;
    private IValueState<bool> _started = null!;
    private IListState<long> _history = null!;
    private IListState<long> _lateValues = null!;

    public long BucketSize => bucketSize;

    public long ReminderDelay => reminderDelay;

    public long PingDelay => pingDelay;

    public long FallbackDelay => fallbackDelay;

    public override void Open(IKeyedRuntimeContext state)
    {
        if (reminderDelay % bucketSize == 0 || fallbackDelay % 2 == 0)
        {
            throw new ArgumentException("reminders must never share a time with bucket ends, fallbacks never with pings");
        }

        _buckets = state.GetMapState(new MapStateDescriptor<long, (long, long, long, long)>("buckets"));
        _reminders = state.GetMapState(new MapStateDescriptor<long, long>("reminders"));
        _pings = state.GetMapState(new MapStateDescriptor<long, long>("pings"));
        _valueCounts = state.GetMapState(new MapStateDescriptor<long, long>("value-counts"));
        _closedTotal = state.GetState(new ValueStateDescriptor<long>("closed-total"));
        _started = state.GetState(new ValueStateDescriptor<bool>("started"));
        _history = state.GetListState(new ListStateDescriptor<long>("history"));
        _lateValues = state.GetListState(new ListStateDescriptor<long>("late-values"));
    }

    public static long BucketStart(long ts, long size) => ts - (((ts % size) + size) % size);

    public override void ProcessElement(Event value, IKeyedProcessContext<string> ctx, ICollector<Tracked> output)
    {
        var ts = ctx.Timestamp ?? throw new InvalidOperationException("records carry timestamps");
        if (ts <= ctx.CurrentWatermark)
        {
            _lateValues.Add(value.Value);
            ctx.Output(Late, value);
            return;
        }

        var start = BucketStart(ts, bucketSize);
        var end = start + bucketSize - 1;
        if (_buckets.TryGetValue(start, out var b))
        {
            _buckets.Put(start, (b.Count + 1, b.Sum + value.Value, Math.Min(b.Min, value.Value), Math.Max(b.Max, value.Value)));
        }
        else
        {
            _buckets.Put(start, (1, value.Value, value.Value, value.Value));
            var pingAt = ctx.CurrentProcessingTime + pingDelay;
            pingAt += pingAt & 1; // pings at even times, fallbacks at odd ones: they never share a timer
            _pings.Put(start, pingAt);
            ctx.Timers.RegisterProcessingTimeTimer(pingAt);
            ctx.Timers.RegisterProcessingTimeTimer(pingAt + fallbackDelay);
        }

        _valueCounts.Put(value.Value, (_valueCounts.TryGetValue(value.Value, out var n) ? n : 0) + 1);
        ctx.Timers.RegisterEventTimeTimer(end); // once per key and time, however many records register it
        ctx.Timers.RegisterEventTimeTimer(end + reminderDelay);
        _reminders.Put(end + reminderDelay, start);
        if (!_started.Value())
        {
            _started.Update(true);
            ctx.Timers.RegisterEventTimeTimer(long.MaxValue);
        }
    }

    public override void OnTimer(long time, IOnTimerContext<string> ctx, ICollector<Tracked> output)
    {
        if (ctx.TimeDomain == TimeDomain.ProcessingTime)
        {
            OnProcessingTimer(time, ctx, output);
            return;
        }

        if (time == long.MaxValue)
        {
            var counts = _valueCounts.Entries();
            var top = counts.OrderByDescending(e => e.Value).ThenBy(e => e.Key).FirstOrDefault();
            output.Collect(new Tracked("final", ctx.CurrentKey, long.MaxValue,
                $"closed={_closedTotal.Value()} fired={_history.Get().Count} distinct={counts.Count} top={top.Key}x{top.Value} "
                + $"late=[{string.Join(",", _lateValues.Get().Order())}] open={_buckets.Entries().Count} reminders={_reminders.Entries().Count}"));
            return;
        }

        var start = time - bucketSize + 1;
        if (_buckets.TryGetValue(start, out var b))
        {
            var closed = _closedTotal.Value() + b.Sum;
            _closedTotal.Update(closed);
            _history.Add(b.Sum);
            var history = _history.Get();
            output.Collect(new Tracked("bucket", ctx.CurrentKey, start,
                $"count={b.Count} sum={b.Sum} min={b.Min} max={b.Max} closed={closed} fired={history.Count} last=[{string.Join(",", history.TakeLast(3))}]"));
            _buckets.Remove(start);
            if (b.Sum % 2 == 0)
            {
                ctx.Timers.DeleteEventTimeTimer(time + reminderDelay);
                _reminders.Remove(time + reminderDelay);
            }
        }

        else if (_reminders.TryGetValue(time, out var bucket))
        {
            output.Collect(new Tracked("reminder", ctx.CurrentKey, bucket, $"closed={_closedTotal.Value()} fired={_history.Get().Count}"));
            _reminders.Remove(time);
        }
        else
        {
            // Neither a bucket nor a live reminder: a deleted timer fired, or one fired twice.
            output.Collect(new Tracked("stray", ctx.CurrentKey, time, "an event-time timer fired with nothing to do"));
        }
    }

    private void OnProcessingTimer(long time, IOnTimerContext<string> ctx, ICollector<Tracked> output)
    {
        if (time % 2 != 0)
        {
            output.Collect(new Tracked("fallback", ctx.CurrentKey, time, "a deleted processing-time timer fired"));
            return;
        }

        foreach (var (start, pingAt) in _pings.Entries())
        {
            if (pingAt == time) // only its own pings: a lost timer must show as a missing ping, not be swept up by a later one
            {
                output.Collect(new Tracked("ping", ctx.CurrentKey, start, ""));
                _pings.Remove(start);
                ctx.Timers.DeleteProcessingTimeTimer(pingAt + fallbackDelay);
            }
        }
    }
}
