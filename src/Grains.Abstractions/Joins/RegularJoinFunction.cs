using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.State;

namespace Sluice.Joins;

/// <summary>What one side of a regular join keeps per key.</summary>
public enum JoinStateRetention
{
    /// <summary>Every record of the key (until its time-to-live expires); a record of the other side joins each.</summary>
    All,

    /// <summary>Only the key's latest record, as for a changelog of a table (CDC): a new record replaces the old one.</summary>
    Latest,
}

/// <summary>
/// A regular (unbounded) inner join of one key group (Flink SQL's regular join): each side's records are kept in keyed
/// state with a time-to-live, and each arriving record is joined with what the other side keeps for its key, stamped
/// with its own timestamp. Nothing is late; state leaves by its time-to-live, read once more by a timer at each
/// write's expiry so expired values are removed even for keys that see no more records.
/// </summary>
internal sealed class RegularJoinFunction<TKey, TLeft, TRight, TOut> : KeyedCoProcessFunction<TKey, TLeft, TRight, TOut>
    where TKey : notnull
{
    private readonly Func<TLeft, TRight, TOut> _select;
    private readonly StateTtlConfig _ttl;
    private readonly long _ttlMs;
    private readonly Side<TLeft> _left;
    private readonly Side<TRight> _right;

    public RegularJoinFunction(Func<TLeft, TRight, TOut> select, StateTtlConfig ttl, JoinStateRetention left, JoinStateRetention right)
    {
        _select = select;
        _ttl = ttl;
        _ttlMs = (long)ttl.TimeToLive.TotalMilliseconds;
        _left = new Side<TLeft>("regular-join-left", ttl, left);
        _right = new Side<TRight>("regular-join-right", ttl, right);
    }

    public override void Open(IKeyedRuntimeContext state)
    {
        _left.Open(state);
        _right.Open(state);
    }

    public override void ProcessElement1(TLeft value, IKeyedProcessContext<TKey> ctx, ICollector<TOut> output)
    {
        _left.Add(value);
        RegisterExpiry(ctx);
        if (_right.Latest is { } latest)
        {
            if (latest.TryGetValue(out var r))
            {
                output.Collect(_select(value, r));
            }

            return;
        }

        var join = new JoinRights(_select, value, output);
        _right.All!.Visit(ref join);
    }

    public override void ProcessElement2(TRight value, IKeyedProcessContext<TKey> ctx, ICollector<TOut> output)
    {
        _right.Add(value);
        RegisterExpiry(ctx);
        if (_left.Latest is { } latest)
        {
            if (latest.TryGetValue(out var l))
            {
                output.Collect(_select(l, value));
            }

            return;
        }

        var join = new JoinLefts(_select, value, output);
        _left.All!.Visit(ref join);
    }

    /// <summary>Reads both sides at a write's expiry, which removes what expired: state leaves when its time-to-live is up, not only on a later access.</summary>
    public override void OnTimer(long time, IOnTimerContext<TKey> ctx, ICollector<TOut> output)
    {
        _left.Touch();
        _right.Touch();
    }

    /// <summary>A timer at the expiry of what was just written (as the time-to-live stamps it), of the time-to-live's clock.</summary>
    private void RegisterExpiry(IKeyedProcessContext<TKey> ctx)
    {
        if (_ttl.TimeCharacteristic == TtlTimeCharacteristic.EventTime)
        {
            var written = Math.Max(ctx.Timestamp ?? ctx.CurrentWatermark, ctx.CurrentWatermark);
            ctx.Timers.RegisterEventTimeTimer(Saturating.Add(written, _ttlMs));
        }
        else
        {
            ctx.Timers.RegisterProcessingTimeTimer(Saturating.Add(ctx.CurrentProcessingTime, _ttlMs));
        }
    }

    /// <summary>One side's state: a value (latest) or a list (all), with the join's time-to-live.</summary>
    private sealed class Side<T>(string name, StateTtlConfig ttl, JoinStateRetention retention)
    {
        public IValueState<T>? Latest { get; private set; }

        public IVisitableListState<T>? All { get; private set; }

        public void Open(IKeyedRuntimeContext state)
        {
            if (retention == JoinStateRetention.Latest)
            {
                Latest = state.GetState(new ValueStateDescriptor<T>(name) { Ttl = ttl });
            }
            else
            {
                All = state.GetListState(new ListStateDescriptor<T>(name) { Ttl = ttl }).Visitable();
            }
        }

        /// <summary>Reads the current key's value(s), so expired ones are removed.</summary>
        public void Touch()
        {
            if (Latest is not null)
            {
                Latest.TryGetValue(out _);
            }
            else
            {
                var none = default(NoElements<T>);
                All!.Visit(ref none);
            }
        }

        public void Add(T value)
        {
            if (Latest is not null)
            {
                Latest.Update(value);
            }
            else
            {
                All!.Add(value);
            }
        }
    }

    /// <summary>Joins a left record with each right record of its key, as the right list is read.</summary>
    private readonly struct JoinRights(Func<TLeft, TRight, TOut> select, TLeft left, ICollector<TOut> output) : IListElementVisitor<TRight>
    {
        public void Visit(TRight right) => output.Collect(select(left, right));
    }

    /// <summary>Joins a right record with each left record of its key, as the left list is read.</summary>
    private readonly struct JoinLefts(Func<TLeft, TRight, TOut> select, TRight right, ICollector<TOut> output) : IListElementVisitor<TLeft>
    {
        public void Visit(TLeft left) => output.Collect(select(left, right));
    }

    /// <summary>Reads a list for its side effect only (expired elements go).</summary>
    private readonly struct NoElements<T> : IListElementVisitor<T>
    {
        public void Visit(T element)
        {
        }
    }
}
