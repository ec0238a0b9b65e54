using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.State;

namespace Sluice.Joins;

/// <summary>
/// The interval join of one key group (Flink's <c>IntervalJoinOperator</c>), run as a keyed co-process function so its
/// buffers are keyed state on the stage's state backend and its cleanup timers are the timer service's: both are
/// checkpointed, restored and migrated with the key group.
/// <para>
/// Each side keeps its records in a map state bucketed by timestamp. A record behind the watermark is dropped (counted,
/// or sent to the side's late output); any other record is added to its side's buffer, joined with every record of the
/// other side's buffer whose timestamp is within the bounds, and registers a cleanup timer at the first watermark after
/// which no on-time record of the other side can match it. A pair is emitted exactly once, when its second record
/// arrives, stamped with the larger of the two timestamps.
/// </para>
/// </summary>
/// <remarks>
/// Flink registers the cleanup at <c>ts + upper</c> (left) and fires it once the watermark reaches that time, while a
/// right record at exactly the watermark is still on time and would have matched the removed bucket. Here cleanup is one
/// millisecond later, so the result is exactly "all pairs within the bounds where neither record was late".
/// </remarks>
internal sealed class IntervalJoinFunction<TKey, TLeft, TRight, TOut> : KeyedCoProcessFunction<TKey, TLeft, TRight, TOut>, IProcessJoinContext
    where TKey : notnull
{
    internal static readonly MapStateDescriptor<long, TLeft[]> LeftBuffer = new("interval-join-left");
    internal static readonly MapStateDescriptor<long, TRight[]> RightBuffer = new("interval-join-right");

    private readonly IProcessJoinFunction<TLeft, TRight, TOut> _join;
    private readonly long _lower;
    private readonly long _upper;
    private readonly OutputTag<TLeft>? _leftLate;
    private readonly OutputTag<TRight>? _rightLate;
    private IMapState<long, TLeft[]> _left = null!;
    private IMapState<long, TRight[]> _right = null!;
    private IKeyedProcessContext<TKey> _context = null!;

    /// <param name="lower">Smallest <c>right.ts - left.ts</c> that joins (inclusive).</param>
    /// <param name="upper">Largest <c>right.ts - left.ts</c> that joins (inclusive).</param>
    public IntervalJoinFunction(
        IProcessJoinFunction<TLeft, TRight, TOut> join, long lower, long upper, OutputTag<TLeft>? leftLate, OutputTag<TRight>? rightLate)
    {
        _join = join;
        _lower = lower;
        _upper = upper;
        _leftLate = leftLate;
        _rightLate = rightLate;
    }

    public long LeftTimestamp { get; private set; }

    public long RightTimestamp { get; private set; }

    public long Timestamp => Math.Max(LeftTimestamp, RightTimestamp);

    public override void Open(IKeyedRuntimeContext state)
    {
        _left = state.GetMapState(LeftBuffer);
        _right = state.GetMapState(RightBuffer);
    }

    public override void ProcessElement1(TLeft value, IKeyedProcessContext<TKey> ctx, ICollector<TOut> output)
    {
        var ts = TimestampOf(ctx);
        if (ts < ctx.CurrentWatermark)
        {
            DropLate(ctx, _leftLate, value);
            return;
        }

        _context = ctx;
        _left.Put(ts, Append(_left, ts, value));
        // Right records r with lower <= r.ts - ts <= upper.
        var from = Saturating.Add(ts, _lower);
        var to = Saturating.Add(ts, _upper);
        var entries = _right.Entries();
        for (var i = 0; i < entries.Count; i++)
        {
            var bucket = entries[i];
            if (bucket.Key < from || bucket.Key > to)
            {
                continue;
            }

            var records = bucket.Value;
            for (var j = 0; j < records.Length; j++)
            {
                Emit(value, ts, records[j], bucket.Key, ctx, output);
            }
        }

        ctx.Timers.RegisterEventTimeTimer(LeftCleanup(ts));
    }

    public override void ProcessElement2(TRight value, IKeyedProcessContext<TKey> ctx, ICollector<TOut> output)
    {
        var ts = TimestampOf(ctx);
        if (ts < ctx.CurrentWatermark)
        {
            DropLate(ctx, _rightLate, value);
            return;
        }

        _context = ctx;
        _right.Put(ts, Append(_right, ts, value));
        // Left records l with lower <= ts - l.ts <= upper.
        var from = Saturating.Subtract(ts, _upper);
        var to = Saturating.Subtract(ts, _lower);
        var entries = _left.Entries();
        for (var i = 0; i < entries.Count; i++)
        {
            var bucket = entries[i];
            if (bucket.Key < from || bucket.Key > to)
            {
                continue;
            }

            var records = bucket.Value;
            for (var j = 0; j < records.Length; j++)
            {
                Emit(records[j], bucket.Key, value, ts, ctx, output);
            }
        }

        ctx.Timers.RegisterEventTimeTimer(RightCleanup(ts));
    }

    /// <summary>Removes every bucket of either side whose cleanup time has come (timers carry no side, so both are checked).</summary>
    public override void OnTimer(long time, IOnTimerContext<TKey> ctx, ICollector<TOut> output)
    {
        if (ctx.TimeDomain != TimeDomain.EventTime)
        {
            return;
        }

        var left = _left.Entries();
        for (var i = 0; i < left.Count; i++)
        {
            if (LeftCleanup(left[i].Key) <= time)
            {
                _left.Remove(left[i].Key);
            }
        }

        var right = _right.Entries();
        for (var i = 0; i < right.Count; i++)
        {
            if (RightCleanup(right[i].Key) <= time)
            {
                _right.Remove(right[i].Key);
            }
        }
    }

    public void Output<T>(OutputTag<T> tag, T value) => _context.Output(tag, value);

    /// <summary>The first watermark after which no on-time right record (ts &gt;= watermark) is within <c>ts + upper</c>.</summary>
    private long LeftCleanup(long ts) => Saturating.Add(Saturating.Add(ts, Math.Max(_upper, 0)), 1);

    /// <summary>The first watermark after which no on-time left record is within <c>ts - lower</c>.</summary>
    private long RightCleanup(long ts) => Saturating.Add(Saturating.Subtract(ts, Math.Min(_lower, 0)), 1);

    private void Emit(TLeft left, long leftTs, TRight right, long rightTs, IKeyedProcessContext<TKey> ctx, ICollector<TOut> output)
    {
        LeftTimestamp = leftTs;
        RightTimestamp = rightTs;
        ((IJoinRuntime)ctx).SetOutputTimestamp(Timestamp);
        _join.ProcessElement(left, right, this, output);
    }

    private static long TimestampOf(IKeyedProcessContext<TKey> ctx) =>
        ctx.Timestamp ?? throw new InvalidOperationException(
            "An interval join needs event timestamps on both inputs: call WithTimestamps on each stream before KeyBy.");

    private static void DropLate<T>(IKeyedProcessContext<TKey> ctx, OutputTag<T>? tag, T value)
    {
        ((IJoinRuntime)ctx).CountLateRecord();
        if (tag is not null)
        {
            ctx.Output(tag, value);
        }
    }

    /// <summary>The bucket with <paramref name="value"/> added: a new array, so a snapshot holding the old one never changes.</summary>
    private static T[] Append<T>(IMapState<long, T[]> buffer, long ts, T value)
    {
        if (!buffer.TryGetValue(ts, out var existing))
        {
            return [value];
        }

        var bucket = new T[existing.Length + 1];
        existing.CopyTo(bucket, 0);
        bucket[^1] = value;
        return bucket;
    }
}

/// <summary>Timestamp arithmetic that stops at <see cref="long.MinValue"/> and <see cref="long.MaxValue"/> instead of wrapping.</summary>
internal static class Saturating
{
    public static long Add(long a, long b)
    {
        var sum = unchecked(a + b);
        // Overflow iff both operands have the same sign and the sum's sign differs.
        return ((a ^ sum) & (b ^ sum)) < 0 ? (a < 0 ? long.MinValue : long.MaxValue) : sum;
    }

    public static long Subtract(long a, long b) => b == long.MinValue ? (a >= 0 ? long.MaxValue : a - b) : Add(a, -b);
}
