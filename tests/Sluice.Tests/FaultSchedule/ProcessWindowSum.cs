using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.State;
using Sluice.Tests.Properties;

namespace Sluice.Tests.FaultSchedule;

/// <summary>
/// A tumbling event-time window sum written as a keyed process function: per key a map state of bucket start -> sum and
/// an event-time timer at the bucket's end - 1 that emits the sum and clears it; a record whose bucket already fired is
/// dropped, as the window stage drops late records. Its output is the window stage's, so the fault schedules check
/// keyed state and timers (snapshots, restores, moves) against the same oracle. With <paramref name="byEventField"/> a
/// record's bucket is its <see cref="Event.Ts"/> field rather than its stream timestamp (see <see cref="RegularJoinPairs"/>).
/// </summary>
internal sealed class ProcessWindowSum(long size, bool byEventField = false) : KeyedProcessFunction<string, Event, WindowResult>
{
    private IMapState<long, long> _sums = null!;

    public override void Open(IKeyedRuntimeContext state) => _sums = state.GetMapState(new MapStateDescriptor<long, long>("sums"));

    public override void ProcessElement(Event value, IKeyedProcessContext<string> ctx, ICollector<WindowResult> output)
    {
        var ts = byEventField ? value.Ts : ctx.Timestamp ?? throw new InvalidOperationException("records carry timestamps");
        var start = ts - (((ts % size) + size) % size);
        var last = start + size - 1;
        if (last <= ctx.CurrentWatermark)
        {
            return; // the bucket fired already
        }

        _sums.Put(start, (_sums.TryGetValue(start, out var sum) ? sum : 0) + value.Value);
        ctx.Timers.RegisterEventTimeTimer(last);
    }

    public override void OnTimer(long time, IOnTimerContext<string> ctx, ICollector<WindowResult> output)
    {
        var start = time - size + 1;
        if (!_sums.TryGetValue(start, out var sum))
        {
            // A timer that fired twice, or whose bucket was lost: a result the oracle never has (throwing would restart
            // the pipeline, and the restore could hide it).
            output.Collect(new WindowResult(ctx.CurrentKey, start, start + size, long.MinValue));
            return;
        }

        output.Collect(new WindowResult(ctx.CurrentKey, start, start + size, sum));
        _sums.Remove(start);
    }
}
