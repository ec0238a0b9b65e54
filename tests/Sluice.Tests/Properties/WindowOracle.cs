namespace Sluice.Tests.Properties;

/// <summary>
/// Brute-force recomputation of keyed event-time window aggregates from the input records, written from
/// Flink's definitions and independent of the engine: a record with timestamp <c>ts</c> belongs to every
/// window <c>[start, start + size)</c> with <c>start = lastStart - i * slide</c> and <c>start &gt; ts - size</c>,
/// where <c>lastStart = ts - ((ts - offset) % slide + slide) % slide</c> (correct for negative timestamps).
/// Tumbling windows are sliding windows whose slide equals their size.
/// </summary>
public static class WindowOracle
{
    /// <summary>Start of the latest window (of the given slide) that contains <paramref name="ts"/>.</summary>
    public static long LastWindowStart(long ts, long offset, long slide) => ts - ((((ts - offset) % slide) + slide) % slide);

    /// <summary>Every window <c>(Start, End)</c> containing <paramref name="ts"/>, found by scanning, not by formula inversion.</summary>
    public static List<(long Start, long End)> WindowsOf(long ts, long size, long slide, long offset)
    {
        var windows = new List<(long, long)>();
        for (var start = LastWindowStart(ts, offset, slide); start > ts - size; start -= slide)
        {
            windows.Add((start, start + size));
        }

        return windows;
    }

    public static List<WindowResult> Tumbling(IEnumerable<Event> records, long size, long offset, AggregateKind kind) =>
        Sliding(records, size, size, offset, kind);

    public static List<WindowResult> Sliding(IEnumerable<Event> records, long size, long slide, long offset, AggregateKind kind)
    {
        var acc = new Dictionary<(string Key, long Start, long End), long>();
        foreach (var r in records)
        {
            foreach (var (start, end) in WindowsOf(r.Ts, size, slide, offset))
            {
                var k = (r.Key, start, end);
                acc[k] = acc.GetValueOrDefault(k) + (kind == AggregateKind.Count ? 1 : r.Value);
            }
        }

        return acc.Select(e => new WindowResult(e.Key.Key, e.Key.Start, e.Key.End, e.Value)).ToList();
    }

    /// <summary>
    /// Second stage of the two-stage pipeline: per window of the first stage's results (tumbling windows of
    /// the same size, so a result's window is the second stage's window), the total count and the top three
    /// keys by count (ties by key, ordinal).
    /// </summary>
    public static List<WindowSummary> Summaries(IEnumerable<WindowResult> perKey)
    {
        return perKey
            .GroupBy(r => (r.Start, r.End))
            .Select(g => new WindowSummary(g.Key.Start, g.Key.End, g.Sum(r => r.Value), FormatTop3(g)))
            .ToList();
    }

    public static string FormatTop3(IEnumerable<WindowResult> perKey) =>
        string.Join(",", perKey
            .OrderByDescending(r => r.Value)
            .ThenBy(r => r.Key, StringComparer.Ordinal)
            .Take(3)
            .Select(r => $"{r.Key}:{r.Value}"));

    /// <summary>
    /// Compares two multisets of results exactly; on a difference, fails with the seed (to replay the case),
    /// the case's description and the first differing elements of each side.
    /// </summary>
    public static void AssertSameMultiset<T>(IReadOnlyCollection<T> expected, IReadOnlyCollection<T> actual, string context)
        where T : notnull
    {
        // Every result type's ToString shows all its fields, so ordering by it sorts equal elements together.
        var e = expected.OrderBy(x => x.ToString(), StringComparer.Ordinal).ToList();
        var a = actual.OrderBy(x => x.ToString(), StringComparer.Ordinal).ToList();
        if (e.SequenceEqual(a))
        {
            return;
        }

        var missing = Minus(e, a);
        var extra = Minus(a, e);
        Assert.Fail(
            $"{context}: engine output differs from the oracle ({e.Count} expected, {a.Count} actual).\n"
            + $"  missing ({missing.Count}): {string.Join(" ", missing.Take(10))}\n"
            + $"  unexpected ({extra.Count}): {string.Join(" ", extra.Take(10))}");
    }

    /// <summary>A multiset difference: what <paramref name="from"/> holds more often than <paramref name="remove"/>.</summary>
    public static List<T> Minus<T>(List<T> from, List<T> remove)
        where T : notnull
    {
        var counts = new Dictionary<T, int>();
        foreach (var x in remove)
        {
            counts[x] = counts.GetValueOrDefault(x) + 1;
        }

        var result = new List<T>();
        foreach (var x in from)
        {
            if (counts.TryGetValue(x, out var n) && n > 0)
            {
                counts[x] = n - 1;
            }
            else
            {
                result.Add(x);
            }
        }

        return result;
    }
}

/// <summary>Second-stage result: a window, the total count over all keys and the top three keys by count.</summary>
[GenerateSerializer, Immutable]
public readonly record struct WindowSummary(
    [property: Id(0)] long Start,
    [property: Id(1)] long End,
    [property: Id(2)] long Total,
    [property: Id(3)] string Top3)
{
    public override string ToString() => $"([{Start}, {End}) total={Total} top={Top3})";
}
