using Sluice.State;
using Sluice.Tests.Properties;

namespace Sluice.Tests.FaultSchedule;

/// <summary>
/// The regular-join stage of the fault schedules: the events with odd values (left) joined with every event with an even
/// value (right) of the same key, both sides kept in state under an event-time time-to-live far longer than the run; a
/// pair is an event of the key at <c>max(left.ts, right.ts)</c> with value <c>10 * left + right</c>, summed per key in
/// 100 ms buckets of that field by a process function (<see cref="ProcessWindowSum"/>). The field, not the pair's stream
/// timestamp: a regular join stamps a pair with its later-arriving record's timestamp, which depends on arrival order.
/// The bucket of the field is never behind the watermark (the field is at or after the arriving on-time record's
/// timestamp), so no pair is dropped, and a lost, duplicated or wrong pair changes a sum.
/// </summary>
internal static class RegularJoinPairs
{
    public static DataStream<WindowResult> Define(DataStream<Event> events) =>
        events.Filter(e => e.Value % 2 != 0, "odd")
            .Join(events.Filter(e => e.Value % 2 == 0, "even"))
            .Where(e => e.Key).EqualTo(e => e.Key)
            .Unbounded(StateTtlConfig.EventTime(TimeSpan.FromDays(1)))
            .Apply((l, r) => new Event(l.Key, Math.Max(l.Ts, r.Ts), (10 * l.Value) + r.Value), "pairs")
            .KeyBy(e => e.Key)
            .Process(() => new ProcessWindowSum(100, byEventField: true), "sums");

    /// <summary>The brute-force pairs of everything appended: every odd with every even event of its key.</summary>
    public static List<Event> Oracle(List<Event> all) =>
        IntervalJoinPairs.OddEvenPairs(all, static (_, _) => true, static (l, r) => Math.Max(l.Ts, r.Ts));
}
