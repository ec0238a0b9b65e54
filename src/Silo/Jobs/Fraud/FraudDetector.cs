using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.State;

namespace Sluice.Silo.Jobs.Fraud;

/// <summary>
/// Flink's fraud-detection walkthrough (a small charge followed by a large one) with Flink's dynamic rules, made exact:
/// rule versions arrive by broadcast and take effect at their own event time; each card's transactions wait in keyed
/// state until the watermark passes them and are then judged in (ts, txId) order by the rule versions in force at
/// their time. So the alerts depend only on the data, not on how the two inputs interleave or on the number of silos.
/// </summary>
/// <remarks>
/// Per card and rule: a charge below the rule's <c>smallBelow</c> sets "small charge seen" (the newest one counts) with
/// an event-time timer at its time plus the rule's window, which clears it; a charge above <c>largeAbove</c> within the
/// window under the same rule version raises an alert and consumes the small charge (its timer is deleted). A rule
/// change starts afresh: small charges seen under an earlier version do not count. A transaction at or behind the
/// watermark when it arrives (later than the out-of-orderness bound) cannot be judged in order and goes to
/// <see cref="Late"/>. One instance per key group: the scratch lists are reused by every card of the group.
/// </remarks>
internal sealed class FraudDetector(TimeSpan flagTimeToLive, TimeSpan ruleHistory)
    : KeyedBroadcastProcessFunction<string, CardTransaction, FraudRule, FraudAlert>
{
    /// <summary>Rule versions by (rule id, effective time); the same in every key group.</summary>
    public static readonly MapStateDescriptor<(string RuleId, long Ts), FraudRule> Rules = new("fraud-rules");

    /// <summary>Transactions that arrived behind the watermark.</summary>
    public static readonly OutputTag<CardTransaction> Late = new("late-transactions");

    private static readonly Comparison<CardTransaction> ByTimeThenId = static (a, b) =>
        a.Timestamp != b.Timestamp ? a.Timestamp.CompareTo(b.Timestamp) : string.CompareOrdinal(a.TxId, b.TxId);

    private static readonly Comparison<FraudRule> ByRuleThenTime = static (a, b) =>
        string.CompareOrdinal(a.RuleId, b.RuleId) is var c && c != 0 ? c : a.Timestamp.CompareTo(b.Timestamp);

    private readonly long _ruleHistoryMs = (long)ruleHistory.TotalMilliseconds;
    private readonly List<CardTransaction> _due = [];
    private readonly List<CardTransaction> _later = [];
    private readonly List<FraudRule> _versions = [];
    private IListState<CardTransaction> _pending = null!;
    private IMapState<string, SmallCharge> _smallCharges = null!;

    public override void Open(IKeyedRuntimeContext state)
    {
        _pending = state.GetListState(new ListStateDescriptor<CardTransaction>("pending-transactions"));
        // The timers clear small charges; the time-to-live bounds memory should a watermark stall. Processing time on
        // purpose: an event-time one would expire every small charge when the input ends and the watermark jumps to
        // the end of time, before the timers that judge the transactions still waiting for it.
        _smallCharges = state.GetMapState(new MapStateDescriptor<string, SmallCharge>("small-charges") { Ttl = StateTtlConfig.ProcessingTime(flagTimeToLive) });
    }

    public override void ProcessElement(CardTransaction value, IReadOnlyBroadcastContext<string> ctx, ICollector<FraudAlert> output)
    {
        if (value.Timestamp <= ctx.CurrentWatermark)
        {
            ctx.Output(Late, value);
            return;
        }

        _pending.Add(value);
        ctx.Timers.RegisterEventTimeTimer(value.Timestamp);
    }

    public override void ProcessBroadcastElement(FraudRule value, IBroadcastContext<string> ctx, ICollector<FraudAlert> output)
    {
        var rules = ctx.GetBroadcastState(Rules);
        rules.Put((value.RuleId, value.Timestamp), value);
        PruneHistory(rules, value.RuleId, value.Timestamp - _ruleHistoryMs);
    }

    public override void OnTimer(long time, IBroadcastOnTimerContext<string> ctx, ICollector<FraudAlert> output)
    {
        var pending = _pending.Get();
        _due.Clear();
        _later.Clear();
        for (var i = 0; i < pending.Count; i++)
        {
            (pending[i].Timestamp <= time ? _due : _later).Add(pending[i]);
        }

        if (_due.Count > 0)
        {
            _due.Sort(ByTimeThenId);
            LoadVersions(ctx.GetBroadcastState(Rules));
            for (var i = 0; i < _due.Count; i++)
            {
                Judge(_due[i], ctx, output);
            }

            if (_later.Count == 0)
            {
                _pending.Clear();
            }
            else
            {
                _pending.Update(_later);
            }
        }

        ExpireSmallCharges(time);
        _due.Clear();
        _later.Clear();
        _versions.Clear();
    }

    /// <summary>Judges one transaction by every rule's version in force at its time (rule ids in ordinal order).</summary>
    private void Judge(CardTransaction tx, IBroadcastOnTimerContext<string> ctx, ICollector<FraudAlert> output)
    {
        var start = 0;
        while (start < _versions.Count)
        {
            var end = start + 1;
            while (end < _versions.Count && string.Equals(_versions[end].RuleId, _versions[start].RuleId, StringComparison.Ordinal))
            {
                end++;
            }

            FraudRule? inForce = null;
            for (var i = end - 1; i >= start; i--)
            {
                if (_versions[i].Timestamp <= tx.Timestamp)
                {
                    inForce = _versions[i];
                    break;
                }
            }

            if (inForce is { IsActive: true })
            {
                Judge(tx, inForce, ctx, output);
            }

            start = end;
        }
    }

    private void Judge(CardTransaction tx, FraudRule rule, IBroadcastOnTimerContext<string> ctx, ICollector<FraudAlert> output)
    {
        var seen = _smallCharges.TryGetValue(rule.RuleId, out var small);
        if (seen && tx.Amount > rule.LargeAbove && small.RuleVersion == rule.Timestamp && tx.Timestamp <= small.ExpiresAt)
        {
            output.Collect(new FraudAlert(tx.CardId, rule.RuleId, small.TxId, small.Amount, small.Timestamp, tx.TxId, tx.Amount, tx.Timestamp));
            _smallCharges.Remove(rule.RuleId);
            DeleteTimerIfUnused(small.ExpiresAt, ctx);
        }
        else if (tx.Amount < rule.SmallBelow)
        {
            var expiresAt = tx.Timestamp + rule.WindowMs;
            _smallCharges.Put(rule.RuleId, new SmallCharge(tx.TxId, tx.Amount, tx.Timestamp, rule.Timestamp, expiresAt));
            ctx.Timers.RegisterEventTimeTimer(expiresAt);
            if (seen && small.ExpiresAt != expiresAt)
            {
                DeleteTimerIfUnused(small.ExpiresAt, ctx);
            }
        }
    }

    /// <summary>Deletes the card's timer at <paramref name="time"/> unless a small charge or a waiting transaction still needs it.</summary>
    private void DeleteTimerIfUnused(long time, IBroadcastOnTimerContext<string> ctx)
    {
        for (var i = 0; i < _later.Count; i++)
        {
            if (_later[i].Timestamp == time)
            {
                return;
            }
        }

        if (!_smallCharges.IsEmpty())
        {
            var charges = _smallCharges.Entries();
            for (var i = 0; i < charges.Count; i++)
            {
                if (charges[i].Value.ExpiresAt == time)
                {
                    return;
                }
            }
        }

        ctx.Timers.DeleteEventTimeTimer(time);
    }

    private void ExpireSmallCharges(long time)
    {
        if (_smallCharges.IsEmpty())
        {
            return;
        }

        var charges = _smallCharges.Entries();
        for (var i = 0; i < charges.Count; i++)
        {
            if (charges[i].Value.ExpiresAt <= time)
            {
                _smallCharges.Remove(charges[i].Key);
            }
        }
    }

    private void LoadVersions(IReadOnlyBroadcastState<(string RuleId, long Ts), FraudRule> rules)
    {
        _versions.Clear();
        var entries = rules.Entries();
        for (var i = 0; i < entries.Count; i++)
        {
            _versions.Add(entries[i].Value);
        }

        _versions.Sort(ByRuleThenTime);
    }

    /// <summary>
    /// Forgets versions of <paramref name="ruleId"/> superseded before <paramref name="horizon"/> (the newest version at
    /// or before it stays: it is in force there). Depends only on the broadcast record, so every key group prunes alike.
    /// </summary>
    private static void PruneHistory(IBroadcastState<(string RuleId, long Ts), FraudRule> rules, string ruleId, long horizon)
    {
        var entries = rules.Entries();
        var newestBefore = long.MinValue;
        for (var i = 0; i < entries.Count; i++)
        {
            var (id, ts) = entries[i].Key;
            if (ts <= horizon && ts > newestBefore && string.Equals(id, ruleId, StringComparison.Ordinal))
            {
                newestBefore = ts;
            }
        }

        for (var i = 0; i < entries.Count; i++)
        {
            var (id, ts) = entries[i].Key;
            if (ts < newestBefore && string.Equals(id, ruleId, StringComparison.Ordinal))
            {
                rules.Remove(entries[i].Key);
            }
        }
    }
}
