using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.State;

namespace Sluice.Tests.QueryableState;

/// <summary>
/// Per user, the sum of the amounts whose timestamps the watermark has passed: a record waits in map state (by timestamp)
/// until an event-time timer at its timestamp adds it to the total. A record at or behind the watermark is late and
/// dropped. So at watermark W the total is exactly the sum of the user's on-time amounts with timestamps up to W, which a
/// test can compute from its input alone. Both states are queryable: the total as "totals", the waiting amounts as "pending".
/// </summary>
internal sealed class TotalsUpToWatermark : KeyedProcessFunction<string, (string User, long Amount), long>
{
    public static readonly ValueStateDescriptor<long> Totals = new("total") { QueryableName = "totals" };

    public static readonly MapStateDescriptor<long, long> Pending = new("pending") { QueryableName = "pending" };

    private IValueState<long> _total = null!;
    private IMapState<long, long> _pending = null!;

    public override void Open(IKeyedRuntimeContext state)
    {
        _total = state.GetState(Totals);
        _pending = state.GetMapState(Pending);
    }

    public override void ProcessElement((string User, long Amount) value, IKeyedProcessContext<string> ctx, ICollector<long> output)
    {
        var ts = ctx.Timestamp!.Value;
        if (ts <= ctx.CurrentWatermark)
        {
            return; // late
        }

        _pending.Put(ts, (_pending.TryGetValue(ts, out var waiting) ? waiting : 0) + value.Amount);
        ctx.Timers.RegisterEventTimeTimer(ts);
    }

    public override void OnTimer(long time, IOnTimerContext<string> ctx, ICollector<long> output)
    {
        if (_pending.TryGetValue(time, out var amount))
        {
            _pending.Remove(time);
            var total = _total.Value() + amount;
            _total.Update(total);
            output.Collect(total);
        }
    }
}
