using Sluice.Tests.Properties;
using Sluice.Windows;

namespace Sluice.Tests.FaultSchedule;

/// <summary>
/// The window-join stage of the fault schedules: the events with odd values (left) joined with those with even values
/// (right) of the same key in 30 ms tumbling windows; a pair is an event of the key stamped with the window's last
/// millisecond with value <c>10 * left + right</c>, then summed in the tumbling window stage, so a lost, duplicated or
/// wrong pair changes a window's sum. Both sides' buffers per window and the firing timers go through every snapshot,
/// restore and move.
/// </summary>
internal static class WindowJoinPairs
{
    private const long Size = 30;

    public static KeyedStream<Event, string> Join(DataStream<Event> events) =>
        events.Filter(e => e.Value % 2 != 0, "odd")
            .Join(events.Filter(e => e.Value % 2 == 0, "even"))
            .Where(e => e.Key).EqualTo(e => e.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(Size)))
            .Apply((l, r) => new Event(l.Key, Math.Max(l.Ts, r.Ts), (10 * l.Value) + r.Value), "pairs") // the join stamps it with the window's last ms
            .KeyBy(e => e.Key);

    /// <summary>The brute-force pairs of everything appended (no input record is late: the feed stays within the watermark bound).</summary>
    public static List<Event> Oracle(List<Event> all) =>
        IntervalJoinPairs.OddEvenPairs(all, static (l, r) => WindowStart(l.Ts) == WindowStart(r.Ts), static (l, _) => WindowStart(l.Ts) + Size - 1);

    private static long WindowStart(long ts) => ts - (((ts % Size) + Size) % Size);
}
