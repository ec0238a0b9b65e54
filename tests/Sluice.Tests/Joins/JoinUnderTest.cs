using Sluice.Pipelines;
using Sluice.ProcessFunctions;
using Sluice.State;
using Sluice.Windows;

namespace Sluice.Tests.Joins;

/// <summary>
/// One join of the cluster property test with random parameters: how it is built from two streams, and the model of
/// which left and right records it pairs (how many times: a sliding window pairs two records once per window they share;
/// a session, every left with every right record of the session they fall in together).
/// </summary>
internal abstract class JoinUnderTest
{
    public static JoinUnderTest Create(JoinClusterPropertyTests.JoinKind kind, Random random) => kind switch
    {
        JoinClusterPropertyTests.JoinKind.Interval => new IntervalJoin(random),
        JoinClusterPropertyTests.JoinKind.Window => new WindowJoin(random),
        JoinClusterPropertyTests.JoinKind.Session => new SessionJoin(random),
        _ => new RegularJoin(),
    };

    public abstract DataStream<Pair> Apply(DataStream<Side> left, DataStream<Side> right, OutputTag<Side> leftLate, OutputTag<Side> rightLate);

    /// <summary>The timestamp the test gives a record generated at <paramref name="ts"/> (the session join needs even ones).</summary>
    public virtual long Stamp(long ts) => ts;

    /// <summary>How many times the join pairs a left record at <paramref name="left"/> with a right one at <paramref name="right"/> of the same key.</summary>
    protected abstract int Matches(long left, long right);

    /// <summary>Every pair the join emits from these records (none of them late), each as often as it is emitted.</summary>
    public virtual List<Pair> Pairs(List<Side> lefts, List<Side> rights)
    {
        var pairs = new List<Pair>();
        foreach (var a in lefts)
        {
            foreach (var b in rights)
            {
                if (a.Key != b.Key)
                {
                    continue;
                }

                for (var n = Matches(a.Ts, b.Ts); n > 0; n--)
                {
                    pairs.Add(Join(a, b));
                }
            }
        }

        return pairs;
    }

    private static Pair Join(Side l, Side r) => new(l.Key, l.Id, r.Id, Math.Max(l.Ts, r.Ts));

    /// <summary><c>lower &lt;= right - left &lt;= upper</c>, bounds inclusive.</summary>
    private sealed class IntervalJoin : JoinUnderTest
    {
        private readonly long _lower;
        private readonly long _upper;

        public IntervalJoin(Random random)
        {
            _lower = random.Next(-60, 31);
            _upper = _lower + random.Next(0, 61);
        }

        public override DataStream<Pair> Apply(DataStream<Side> left, DataStream<Side> right, OutputTag<Side> leftLate, OutputTag<Side> rightLate) =>
            left.KeyBy(s => s.Key)
                .IntervalJoin(right.KeyBy(s => s.Key))
                .Between(TimeSpan.FromMilliseconds(_lower), TimeSpan.FromMilliseconds(_upper))
                .SideOutputLeftLateData(leftLate)
                .SideOutputRightLateData(rightLate)
                .Process(Join, "interval-join");

        protected override int Matches(long left, long right) => right - left >= _lower && right - left <= _upper ? 1 : 0;

        public override string ToString() => $"interval join Between({_lower}, {_upper})";
    }

    /// <summary>
    /// Windows <c>[s, s + size)</c> with <c>s = offset + n * slide</c> (tumbling when slide = size): a pair per window
    /// holding both timestamps. Every record the join did not find late reached all its windows: an on-time record is
    /// ahead of the watermark, and an injected stale one lies so far behind that it is late for all or none of them.
    /// </summary>
    private sealed class WindowJoin : JoinUnderTest
    {
        private readonly long _size;
        private readonly long _slide;
        private readonly long _offset;

        public WindowJoin(Random random)
        {
            _size = random.Next(5, 101);
            _slide = random.Next(2) == 0 ? _size : random.Next(1, (int)_size + 1);
            _offset = random.Next(0, (int)_slide);
        }

        public override DataStream<Pair> Apply(DataStream<Side> left, DataStream<Side> right, OutputTag<Side> leftLate, OutputTag<Side> rightLate)
        {
            WindowAssigner assigner = _slide == _size
                ? Tumbling.Of(TimeSpan.FromMilliseconds(_size), TimeSpan.FromMilliseconds(_offset))
                : Sliding.Of(TimeSpan.FromMilliseconds(_size), TimeSpan.FromMilliseconds(_slide), TimeSpan.FromMilliseconds(_offset));
            return left.Join(right).Where(s => s.Key).EqualTo(s => s.Key)
                .Window(assigner)
                .SideOutputLeftLateData(leftLate)
                .SideOutputRightLateData(rightLate)
                .Apply(Join);
        }

        protected override int Matches(long left, long right)
        {
            var shared = 0;
            var last = _offset + (long)Math.Floor((left - _offset) / (double)_slide) * _slide; // the newest window holding left
            for (var start = last; start > left - _size; start -= _slide)
            {
                shared += right >= start && right < start + _size ? 1 : 0;
            }

            return shared;
        }

        public override string ToString() => _slide == _size
            ? $"tumbling window join (size {_size}, offset {_offset})"
            : $"sliding window join (size {_size}, slide {_slide}, offset {_offset})";
    }

    /// <summary>
    /// Sessions with a static odd gap, formed by the records of both sides of a key together (<c>[ts, ts + gap)</c>; windows
    /// that overlap or touch merge); a session pairs every left record in it with every right one. Timestamps are even, so
    /// no record's window can exactly touch a session that already fired: an on-time record is ahead of the watermark,
    /// hence at or after such a session's end, and with an odd gap never at it. So the sessions of the records the join did
    /// not find late are the sessions of that final set, which is what this model computes.
    /// </summary>
    private sealed class SessionJoin(Random random) : JoinUnderTest
    {
        private readonly long _gap = (2 * random.Next(0, 13)) + 1;

        public override DataStream<Pair> Apply(DataStream<Side> left, DataStream<Side> right, OutputTag<Side> leftLate, OutputTag<Side> rightLate) =>
            left.Join(right).Where(s => s.Key).EqualTo(s => s.Key)
                .Window(Session.WithGap(TimeSpan.FromMilliseconds(_gap)))
                .SideOutputLeftLateData(leftLate)
                .SideOutputRightLateData(rightLate)
                .Apply(Join);

        public override long Stamp(long ts) => ts - (ts & 1);

        protected override int Matches(long left, long right) => throw new NotSupportedException("a session depends on every record of its key, not on two");

        public override List<Pair> Pairs(List<Side> lefts, List<Side> rights)
        {
            var pairs = new List<Pair>();
            var records = lefts.Select(s => (Side: s, Left: true)).Concat(rights.Select(s => (Side: s, Left: false)));
            foreach (var key in records.GroupBy(r => r.Side.Key))
            {
                var ordered = key.OrderBy(r => r.Side.Ts).ToList();
                var session = new List<(Side Side, bool Left)>();
                var end = long.MinValue;
                foreach (var record in ordered)
                {
                    if (session.Count > 0 && record.Side.Ts > end)
                    {
                        Cross(session, pairs);
                        session.Clear();
                    }

                    end = session.Count == 0 ? record.Side.Ts + _gap : Math.Max(end, record.Side.Ts + _gap);
                    session.Add(record);
                }

                Cross(session, pairs);
            }

            return pairs;
        }

        private static void Cross(List<(Side Side, bool Left)> session, List<Pair> pairs)
        {
            foreach (var l in session.Where(r => r.Left))
            {
                foreach (var r in session.Where(r => !r.Left))
                {
                    pairs.Add(Join(l.Side, r.Side));
                }
            }
        }

        public override string ToString() => $"session window join (gap {_gap})";
    }

    /// <summary>
    /// Every left record with every right one: both sides keep all their records, under an event-time time-to-live far
    /// longer than the run, so arrival order does not matter and nothing expires before the end of input.
    /// </summary>
    private sealed class RegularJoin : JoinUnderTest
    {
        public override DataStream<Pair> Apply(DataStream<Side> left, DataStream<Side> right, OutputTag<Side> leftLate, OutputTag<Side> rightLate) =>
            left.Join(right).Where(s => s.Key).EqualTo(s => s.Key)
                .Unbounded(StateTtlConfig.EventTime(TimeSpan.FromDays(1)))
                .Apply(Join);

        protected override int Matches(long left, long right) => 1;

        public override string ToString() => "regular join (all records kept, event-time TTL 1 day)";
    }
}
