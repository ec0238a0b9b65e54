using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.State;
using Sluice.Tests.Properties;

namespace Sluice.Tests.ProcessFunctions;

/// <summary>
/// A join of orders and payments per key, exact whatever order the inputs interleave in: both sides are buffered in
/// one keyed list, and an event-time timer at each record's time applies everything due in (time, side, id) order:
/// payments add to the balance, an order is emitted with the balance before it and then subtracts its amount.
/// </summary>
internal sealed class BalanceJoin : KeyedCoProcessFunction<string, Order, Payment, OrderBalance>
{
    private IListState<Pending> _pending = null!;
    private IValueState<long> _balance = null!;

    public override void Open(IKeyedRuntimeContext state)
    {
        _pending = state.GetListState(new ListStateDescriptor<Pending>("pending"));
        _balance = state.GetState(new ValueStateDescriptor<long>("balance"));
    }

    public override void ProcessElement1(Order value, IKeyedProcessContext<string> ctx, ICollector<OrderBalance> output)
    {
        _pending.Add(new Pending(1, value.Id, value.Ts, value.Amount));
        ctx.Timers.RegisterEventTimeTimer(value.Ts);
    }

    public override void ProcessElement2(Payment value, IKeyedProcessContext<string> ctx, ICollector<OrderBalance> output)
    {
        _pending.Add(new Pending(0, value.Id, value.Ts, value.Amount));
        ctx.Timers.RegisterEventTimeTimer(value.Ts);
    }

    public override void OnTimer(long time, IOnTimerContext<string> ctx, ICollector<OrderBalance> output)
    {
        var all = _pending.Get();
        var due = all.Where(p => p.Ts <= time).OrderBy(p => p.Ts).ThenBy(p => p.Side).ThenBy(p => p.Id).ToList();
        var balance = _balance.Value();
        foreach (var p in due)
        {
            if (p.Side == 0)
            {
                balance += p.Amount;
            }
            else
            {
                output.Collect(new OrderBalance(ctx.CurrentKey, p.Id, p.Ts, balance));
                balance -= p.Amount;
            }
        }

        _balance.Update(balance);
        _pending.Update(all.Where(p => p.Ts > time).ToList());
    }

    /// <summary>The brute-force answer: every key's records in (time, side, id) order, payments before orders at equal times.</summary>
    public static List<OrderBalance> Oracle(IEnumerable<Order> orders, IEnumerable<Payment> payments)
    {
        var all = orders.Select(o => (o.Key, Side: 1, o.Id, o.Ts, o.Amount))
            .Concat(payments.Select(p => (p.Key, Side: 0, p.Id, p.Ts, p.Amount)));
        var result = new List<OrderBalance>();
        foreach (var key in all.GroupBy(r => r.Key))
        {
            long balance = 0;
            foreach (var r in key.OrderBy(r => r.Ts).ThenBy(r => r.Side).ThenBy(r => r.Id))
            {
                if (r.Side == 0)
                {
                    balance += r.Amount;
                }
                else
                {
                    result.Add(new OrderBalance(r.Key, r.Id, r.Ts, balance));
                    balance -= r.Amount;
                }
            }
        }

        return result;
    }
}

/// <summary>A buffered record of either side of <see cref="BalanceJoin"/> (side 0: payment, 1: order).</summary>
[GenerateSerializer, Immutable]
public readonly record struct Pending([property: Id(0)] int Side, [property: Id(1)] int Id, [property: Id(2)] long Ts, [property: Id(3)] int Amount);

/// <summary>
/// Flink's dynamic-rules pattern made exact: rule changes are kept by (rule, time, id) in broadcast state, events are
/// buffered per key until the watermark passes them, and an event is judged by its rule's threshold as of its own time.
/// </summary>
internal sealed class DynamicThresholds : KeyedBroadcastProcessFunction<string, Event, ThresholdRule, Alert>
{
    public const int Rules = 3;
    public const long DefaultThreshold = 3;
    public static readonly MapStateDescriptor<(int Rule, long Ts, int Id), long> Thresholds = new("thresholds");

    private IListState<Event> _pending = null!;
    private IValueState<long> _flagged = null!;

    public override void Open(IKeyedRuntimeContext state)
    {
        _pending = state.GetListState(new ListStateDescriptor<Event>("pending"));
        _flagged = state.GetState(new ValueStateDescriptor<long>("flagged"));
    }

    public static int RuleOf(string key) => int.Parse(key.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture) % Rules;

    public override void ProcessElement(Event value, IReadOnlyBroadcastContext<string> ctx, ICollector<Alert> output)
    {
        _pending.Add(value);
        ctx.Timers.RegisterEventTimeTimer(value.Ts);
    }

    public override void ProcessBroadcastElement(ThresholdRule value, IBroadcastContext<string> ctx, ICollector<Alert> output) =>
        ctx.GetBroadcastState(Thresholds).Put((value.Rule, value.Ts, value.Id), value.Threshold);

    public override void OnTimer(long time, IBroadcastOnTimerContext<string> ctx, ICollector<Alert> output)
    {
        var rules = ctx.GetBroadcastState(Thresholds).Entries().Select(e => new ThresholdRule(e.Key.Rule, e.Key.Ts, e.Value, e.Key.Id)).ToList();
        var all = _pending.Get();
        var flagged = _flagged.Value();
        foreach (var e in all.Where(e => e.Ts <= time).OrderBy(e => e.Ts).ThenBy(e => e.Value))
        {
            var threshold = ThresholdAt(rules, RuleOf(e.Key), e.Ts);
            if (e.Value > threshold)
            {
                output.Collect(new Alert(e.Key, e.Ts, e.Value, threshold, ++flagged));
            }
        }

        _flagged.Update(flagged);
        _pending.Update(all.Where(e => e.Ts > time).ToList());
    }

    /// <summary>The threshold of the latest change of <paramref name="rule"/> at or before <paramref name="ts"/>.</summary>
    public static long ThresholdAt(IEnumerable<ThresholdRule> rules, int rule, long ts)
    {
        var latest = rules.Where(r => r.Rule == rule && r.Ts <= ts).OrderBy(r => r.Ts).ThenBy(r => r.Id).LastOrDefault();
        return latest == default ? DefaultThreshold : latest.Threshold;
    }

    /// <summary>The brute-force answer over everything appended.</summary>
    public static List<Alert> Oracle(IEnumerable<Event> events, IReadOnlyList<ThresholdRule> rules)
    {
        var result = new List<Alert>();
        foreach (var key in events.GroupBy(e => e.Key))
        {
            long flagged = 0;
            foreach (var e in key.OrderBy(e => e.Ts).ThenBy(e => e.Value))
            {
                var threshold = ThresholdAt(rules, RuleOf(e.Key), e.Ts);
                if (e.Value > threshold)
                {
                    result.Add(new Alert(e.Key, e.Ts, e.Value, threshold, ++flagged));
                }
            }
        }

        return result;
    }
}
