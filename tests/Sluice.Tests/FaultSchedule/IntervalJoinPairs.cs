using Sluice.Tests.Properties;

namespace Sluice.Tests.FaultSchedule;

/// <summary>
/// The interval-join stage of the fault schedules: the events with odd values (left) joined with those with even values
/// (right) of the same key when <c>-20 &lt;= right.ts - left.ts &lt;= 20</c>; a pair is an event of the key at the larger
/// timestamp with value <c>10 * left + right</c>, then summed in the tumbling window stage, so a lost, duplicated or
/// wrong pair changes a window's sum. The join's buffers and cleanup timers go through every snapshot, restore and move.
/// </summary>
internal static class IntervalJoinPairs
{
    private const long Lower = -20;
    private const long Upper = 20;

    public static KeyedStream<Event, string> Join(DataStream<Event> events) =>
        events.Filter(e => e.Value % 2 != 0, "odd").KeyBy(e => e.Key)
            .IntervalJoin(events.Filter(e => e.Value % 2 == 0, "even").KeyBy(e => e.Key))
            .Between(TimeSpan.FromMilliseconds(Lower), TimeSpan.FromMilliseconds(Upper))
            .Process((l, r) => new Event(l.Key, Math.Max(l.Ts, r.Ts), (10 * l.Value) + r.Value), "pairs")
            .KeyBy(e => e.Key);

    /// <summary>The brute-force pairs of everything appended (no input record is late: the feed stays within the watermark bound).</summary>
    public static List<Event> Oracle(List<Event> all) =>
        OddEvenPairs(all, static (l, r) => r.Ts - l.Ts >= Lower && r.Ts - l.Ts <= Upper, static (l, r) => Math.Max(l.Ts, r.Ts));

    /// <summary>
    /// Every pair of an event with an odd value (left) and one with an even value (right) of the same key that
    /// <paramref name="match"/> accepts, as an event of the key at <paramref name="stamp"/> with value <c>10 * left + right</c>.
    /// </summary>
    public static List<Event> OddEvenPairs(List<Event> all, Func<Event, Event, bool> match, Func<Event, Event, long> stamp)
    {
        var pairs = new List<Event>();
        foreach (var l in all)
        {
            if (l.Value % 2 == 0)
            {
                continue;
            }

            foreach (var r in all)
            {
                if (r.Value % 2 == 0 && r.Key == l.Key && match(l, r))
                {
                    pairs.Add(new Event(l.Key, stamp(l, r), (10 * l.Value) + r.Value));
                }
            }
        }

        return pairs;
    }
}
