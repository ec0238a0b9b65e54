using Sluice.Functions;
using Sluice.Tests.Properties;
using Sluice.Windows;

namespace Sluice.Tests.FaultSchedule;

/// <summary>
/// The session-window stage of the fault schedules: per key, event-time sessions with a dynamic gap of
/// <c>2 + 2 * value</c> ms (4-10 ms), summed. Out-of-order records bridge sessions, so merges (state and timers moved
/// into the merged window) happen throughout, and go through every snapshot, restore and move. The feed stays within
/// the watermark bound, so no record is late and the sessions are a function of the whole input alone.
/// </summary>
internal static class SessionSums
{
    public static DataStream<WindowResult> Define(KeyedStream<Event, string> keyed) =>
        keyed.Window(Session.WithDynamicGap<Event>(e => TimeSpan.FromMilliseconds(Gap(e))))
            .Aggregate(Aggregates.Sum<Event>(e => e.Value), (key, w, sum) => new WindowResult(key, w.Start, w.End, sum), "sessions");

    /// <summary>
    /// Brute force: a record spans <c>[ts, ts + gap)</c>; per key, in timestamp order, a record joins the current session
    /// when it starts at or before the session's end (windows that touch merge, as Flink's do).
    /// </summary>
    public static Dictionary<(string Key, long Start, long End), long> Oracle(IEnumerable<Event> all)
    {
        var sessions = new Dictionary<(string Key, long Start, long End), long>();
        foreach (var key in all.GroupBy(e => e.Key))
        {
            var ordered = key.OrderBy(e => e.Ts).ToList();
            var start = ordered[0].Ts;
            var end = start + Gap(ordered[0]);
            var sum = 0L;
            foreach (var e in ordered)
            {
                if (e.Ts > end)
                {
                    sessions.Add((key.Key, start, end), sum);
                    (start, end, sum) = (e.Ts, e.Ts, 0);
                }

                end = Math.Max(end, e.Ts + Gap(e));
                sum += e.Value;
            }

            sessions.Add((key.Key, start, end), sum);
        }

        return sessions;
    }

    private static long Gap(Event e) => 2 + (2 * e.Value);
}
