using Sluice.Tests.Properties;

namespace Sluice.Tests.ProcessFunctions;

/// <summary>
/// What <see cref="TrackerFunction"/> must emit, computed by brute force without the engine: per key, the on-time records
/// grouped into buckets, then the key's event-time timers (bucket ends, reminders that survive, the final one) replayed
/// in time order against plain dictionaries, as a watermark sweeping from the first bucket to <c>long.MaxValue</c> would
/// fire them. Late records only feed the late list and the side output. Pings: one per (key, bucket). Fallbacks: none.
/// </summary>
internal static class ProcessOracle
{
    public sealed record Expected(List<(Tracked Value, long Timestamp)> Main, List<Event> Late)
    {
        public int Pings => Main.Count(m => m.Value.Kind == "ping");
    }

    public static Expected Run(IEnumerable<Event> onTime, IEnumerable<Event> late, long size, long reminderDelay)
    {
        var main = new List<(Tracked, long)>();
        var lateList = late.ToList();
        var lateByKey = lateList.GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Select(e => e.Value).ToList());
        foreach (var key in onTime.GroupBy(e => e.Key))
        {
            var buckets = new SortedDictionary<long, List<long>>();
            foreach (var e in key)
            {
                var start = FloorDiv(e.Ts, size) * size;
                if (!buckets.TryGetValue(start, out var values))
                {
                    buckets[start] = values = [];
                }

                values.Add(e.Value);
            }

            // Event-time timers of this key: (time, what). Bucket ends and reminders never coincide (reminderDelay is not a
            // multiple of size), so a time is one thing.
            var timers = new SortedDictionary<long, (string Kind, long Start)>();
            foreach (var start in buckets.Keys)
            {
                timers[start + size - 1] = ("bucket", start);
                timers[start + size - 1 + reminderDelay] = ("reminder", start);
            }

            long closed = 0;
            var history = new List<long>();
            var deleted = new HashSet<long>();
            foreach (var (time, (kind, start)) in timers)
            {
                if (kind == "bucket")
                {
                    var values = buckets[start];
                    var sum = values.Sum();
                    closed += sum;
                    history.Add(sum);
                    main.Add((new Tracked("bucket", key.Key, start,
                        $"count={values.Count} sum={sum} min={values.Min()} max={values.Max()} closed={closed} fired={history.Count} "
                        + $"last=[{string.Join(",", history.Skip(Math.Max(0, history.Count - 3)))}]"), time));
                    if (sum % 2 == 0)
                    {
                        deleted.Add(time + reminderDelay);
                    }
                }
                else if (!deleted.Contains(time))
                {
                    main.Add((new Tracked("reminder", key.Key, start, $"closed={closed} fired={history.Count}"), time));
                }

                // A ping per bucket, whenever it fires; processing-time output carries no timestamp.
                if (kind == "bucket")
                {
                    main.Add((new Tracked("ping", key.Key, start, ""), long.MinValue));
                }
            }

            var counts = new Dictionary<long, long>();
            foreach (var e in key)
            {
                counts[e.Value] = counts.GetValueOrDefault(e.Value) + 1;
            }

            var top = counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key).First();
            var lateValues = lateByKey.GetValueOrDefault(key.Key) ?? [];
            main.Add((new Tracked("final", key.Key, long.MaxValue,
                $"closed={closed} fired={history.Count} distinct={counts.Count} top={top.Key}x{top.Value} "
                + $"late=[{string.Join(",", lateValues.Order())}] open=0 reminders=0"), long.MaxValue));
        }

        return new Expected(main, lateList);
    }

    private static long FloorDiv(long a, long b) => (a / b) - ((a % b) != 0 && ((a < 0) != (b < 0)) ? 1 : 0);

    /// <summary>Asserts the two multisets are equal, listing what is missing and what is extra.</summary>
    public static void AssertSameMultiset<T>(IEnumerable<T> expected, IEnumerable<T> actual, string what, string context)
        where T : notnull
    {
        var want = expected.GroupBy(x => x).ToDictionary(g => g.Key, g => g.Count());
        var got = actual.GroupBy(x => x).ToDictionary(g => g.Key, g => g.Count());
        var missing = want.Where(w => got.GetValueOrDefault(w.Key) < w.Value).Select(w => $"{w.Key} x{w.Value - got.GetValueOrDefault(w.Key)}").ToList();
        var extra = got.Where(g => want.GetValueOrDefault(g.Key) < g.Value).Select(g => $"{g.Key} x{g.Value - want.GetValueOrDefault(g.Key)}").ToList();
        Assert.True(
            missing.Count == 0 && extra.Count == 0,
            $"{context}: {what} differs from the oracle ({want.Values.Sum()} expected, {got.Values.Sum()} got): "
            + $"{missing.Count} missing, e.g. {string.Join("; ", missing.Take(8))}; {extra.Count} extra, e.g. {string.Join("; ", extra.Take(8))}");
    }
}
