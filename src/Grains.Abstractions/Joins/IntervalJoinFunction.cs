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
    private readonly List<long> _expired = [];
    private IVisitableMapState<long, TLeft[]> _left = null!;
    private IVisitableMapState<long, TRight[]> _right = null!;
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

    /// <summary>
    /// What differs between the two inputs, as static members of a struct: one generic path serves both, specialized per
    /// side, with no per-record allocation.
    /// </summary>
    private interface ISide<TThis, TOther>
    {
        /// <summary>The first watermark after which no on-time record of the other side can join a record of this side at <paramref name="ts"/>.</summary>
        static abstract long Cleanup(IntervalJoinFunction<TKey, TLeft, TRight, TOut> join, long ts);

        /// <summary>The timestamps <c>[from, to]</c> of the other side's records that join a record of this side at <paramref name="ts"/>.</summary>
        static abstract (long From, long To) Bounds(IntervalJoinFunction<TKey, TLeft, TRight, TOut> join, long ts);

        /// <summary>Emits the pair of a record of this side and one of the other, as (left, right).</summary>
        static abstract void Emit(
            IntervalJoinFunction<TKey, TLeft, TRight, TOut> join, TThis own, long ownTs, TOther other, long otherTs, IKeyedProcessContext<TKey> ctx, ICollector<TOut> output);
    }

    public long LeftTimestamp { get; private set; }

    public long RightTimestamp { get; private set; }

    public long Timestamp => Math.Max(LeftTimestamp, RightTimestamp);

    public override void Open(IKeyedRuntimeContext state)
    {
        _left = state.GetMapState(LeftBuffer).Visitable();
        _right = state.GetMapState(RightBuffer).Visitable();
    }

    public override void ProcessElement1(TLeft value, IKeyedProcessContext<TKey> ctx, ICollector<TOut> output) =>
        Process<LeftSide, TLeft, TRight>(value, _left, _right, _leftLate, ctx, output);

    public override void ProcessElement2(TRight value, IKeyedProcessContext<TKey> ctx, ICollector<TOut> output) =>
        Process<RightSide, TRight, TLeft>(value, _right, _left, _rightLate, ctx, output);

    /// <summary>Removes every bucket of either side whose cleanup time has come (timers carry no side, so both are checked).</summary>
    public override void OnTimer(long time, IOnTimerContext<TKey> ctx, ICollector<TOut> output)
    {
        if (ctx.TimeDomain != TimeDomain.EventTime)
        {
            return;
        }

        RemoveExpired<LeftSide, TLeft, TRight>(_left, time);
        RemoveExpired<RightSide, TRight, TLeft>(_right, time);
    }

    public void Output<T>(OutputTag<T> tag, T value) => _context.Output(tag, value);

    /// <summary>
    /// A record of one side: dropped when late; otherwise added to its side's buffer, joined with the other side's
    /// buckets within the bounds (read in place), and given the cleanup timer of its bucket.
    /// </summary>
    private void Process<TSide, TThis, TOther>(
        TThis value, IVisitableMapState<long, TThis[]> own, IVisitableMapState<long, TOther[]> other, OutputTag<TThis>? lateTag,
        IKeyedProcessContext<TKey> ctx, ICollector<TOut> output)
        where TSide : struct, ISide<TThis, TOther>
    {
        var ts = TimestampOf(ctx);
        if (ts < ctx.CurrentWatermark)
        {
            LateJoinRecords.Drop(ctx, lateTag, value);
            return;
        }

        _context = ctx;
        own.Put(ts, Append(own, ts, value));
        var (from, to) = TSide.Bounds(this, ts);
        var join = new JoinBuckets<TSide, TThis, TOther>(this, value, ts, from, to, ctx, output);
        other.Visit(ref join);
        ctx.Timers.RegisterEventTimeTimer(TSide.Cleanup(this, ts));
    }

    /// <summary>Removes one side's buckets whose cleanup time is at or before <paramref name="time"/>, in the order the buffer gives them.</summary>
    private void RemoveExpired<TSide, TThis, TOther>(IVisitableMapState<long, TThis[]> buffer, long time)
        where TSide : struct, ISide<TThis, TOther>
    {
        _expired.Clear();
        var expired = new ExpiredBuckets<TSide, TThis, TOther>(this, _expired, time);
        buffer.Visit(ref expired);
        foreach (var ts in _expired)
        {
            buffer.Remove(ts);
        }

        _expired.Clear();
    }

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

    /// <summary>A left record joins right records r with <c>lower &lt;= r.ts - ts &lt;= upper</c>.</summary>
    private readonly struct LeftSide : ISide<TLeft, TRight>
    {
        public static long Cleanup(IntervalJoinFunction<TKey, TLeft, TRight, TOut> join, long ts) => join.LeftCleanup(ts);

        public static (long From, long To) Bounds(IntervalJoinFunction<TKey, TLeft, TRight, TOut> join, long ts) =>
            (Saturating.Add(ts, join._lower), Saturating.Add(ts, join._upper));

        public static void Emit(
            IntervalJoinFunction<TKey, TLeft, TRight, TOut> join, TLeft own, long ownTs, TRight other, long otherTs, IKeyedProcessContext<TKey> ctx, ICollector<TOut> output) =>
            join.Emit(own, ownTs, other, otherTs, ctx, output);
    }

    /// <summary>A right record joins left records l with <c>lower &lt;= ts - l.ts &lt;= upper</c>.</summary>
    private readonly struct RightSide : ISide<TRight, TLeft>
    {
        public static long Cleanup(IntervalJoinFunction<TKey, TLeft, TRight, TOut> join, long ts) => join.RightCleanup(ts);

        public static (long From, long To) Bounds(IntervalJoinFunction<TKey, TLeft, TRight, TOut> join, long ts) =>
            (Saturating.Subtract(ts, join._upper), Saturating.Subtract(ts, join._lower));

        public static void Emit(
            IntervalJoinFunction<TKey, TLeft, TRight, TOut> join, TRight own, long ownTs, TLeft other, long otherTs, IKeyedProcessContext<TKey> ctx, ICollector<TOut> output) =>
            join.Emit(other, otherTs, own, ownTs, ctx, output);
    }

    /// <summary>Joins a record with each bucket of the other side's buffer within <c>[from, to]</c>, as the buffer is read.</summary>
    private readonly struct JoinBuckets<TSide, TThis, TOther>(
        IntervalJoinFunction<TKey, TLeft, TRight, TOut> join, TThis value, long ts, long from, long to, IKeyedProcessContext<TKey> ctx, ICollector<TOut> output)
        : IMapEntryVisitor<long, TOther[]>
        where TSide : struct, ISide<TThis, TOther>
    {
        public void Visit(long bucketTs, TOther[] records)
        {
            if (bucketTs < from || bucketTs > to)
            {
                return;
            }

            for (var i = 0; i < records.Length; i++)
            {
                TSide.Emit(join, value, ts, records[i], bucketTs, ctx, output);
            }
        }
    }

    /// <summary>Collects the timestamps of a side's buckets whose cleanup time is at or before <c>time</c>.</summary>
    private readonly struct ExpiredBuckets<TSide, TThis, TOther>(IntervalJoinFunction<TKey, TLeft, TRight, TOut> join, List<long> expired, long time)
        : IMapEntryVisitor<long, TThis[]>
        where TSide : struct, ISide<TThis, TOther>
    {
        public void Visit(long bucketTs, TThis[] records)
        {
            if (TSide.Cleanup(join, bucketTs) <= time)
            {
                expired.Add(bucketTs);
            }
        }
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
