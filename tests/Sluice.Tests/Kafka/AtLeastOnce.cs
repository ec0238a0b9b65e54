using Sluice.Sinks;
using Sluice.Tests.Properties;
using Xunit.Abstractions;

namespace Sluice.Tests.Kafka;

/// <summary>
/// The at-least-once checks of the fault tests: every produced id reaches the sink (duplicates allowed), and
/// windowed counts are never below what an oracle computes from the produced records.
/// </summary>
internal static class AtLeastOnce
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Polls until the sink holds every id 0..count-1 (negative ids are end markers and ignored), then asserts that
    /// the distinct ids are exactly the produced ones. Returns the number of duplicate deliveries. Id <c>i</c> was
    /// written to partition <c>i % partitions</c> (<see cref="PacedProducer"/>); a failure counts the missing per partition.
    /// </summary>
    public static async Task<int> AssertEveryIdArrivesAsync(
        CollectingSink<long> sink, int count, int partitions, TimeSpan timeout, ITestOutputHelper output, Func<Task<string>> describe)
    {
        var deadline = DateTime.UtcNow + timeout;
        List<long> ids;
        HashSet<long> distinct;
        while (true)
        {
            ids = sink.Values.Where(id => id >= 0).ToList();
            distinct = [.. ids];
            if (distinct.Count >= count || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(PollInterval);
        }

        var missing = Enumerable.Range(0, count).Where(id => !distinct.Contains(id)).ToList();
        var unexpected = distinct.Where(id => id >= count).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
        {
            Assert.Fail(
                $"at-least-once violated after {timeout}: {missing.Count} of {count} ids missing "
                + $"(per partition: {string.Join(", ", missing.GroupBy(id => id % partitions).OrderBy(g => g.Key).Select(g => $"p{g.Key}={g.Count()}"))}; "
                + $"first: {string.Join(" ", missing.Take(20))}), {unexpected.Count} unexpected ids ({string.Join(" ", unexpected.Take(10))}); "
                + $"status: {await describe()}");
        }

        var duplicates = ids.Count - distinct.Count;
        output.WriteLine($"ids: {count} produced, {distinct.Count} distinct delivered, {ids.Count} deliveries, {duplicates} duplicate(s)");
        return duplicates;
    }

    /// <summary>
    /// Polls until every window of the oracle (tumbling counts per key over <paramref name="events"/>) has a result,
    /// then asserts that each window's delivered count is at least the oracle's and that no result is for a window
    /// the oracle does not know. Returns the number of windows whose count is above the oracle's.
    /// </summary>
    public static async Task<int> AssertWindowCountsAtLeastOracleAsync(
        CollectingSink<WindowResult> sink, IEnumerable<Event> events, long windowSize, TimeSpan timeout, ITestOutputHelper output, Func<Task<string>> describe)
    {
        var expected = WindowOracle.Tumbling(events, windowSize, 0, AggregateKind.Count)
            .ToDictionary(r => (r.Key, r.Start, r.End), r => r.Value);
        var deadline = DateTime.UtcNow + timeout;
        Dictionary<(string Key, long Start, long End), long> actual;
        while (true)
        {
            actual = sink.Values
                .GroupBy(r => (r.Key, r.Start, r.End))
                .ToDictionary(g => g.Key, g => g.Sum(r => r.Value));
            if (expected.Keys.All(actual.ContainsKey) || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(PollInterval);
        }

        var missing = expected.Keys.Where(w => !actual.ContainsKey(w)).ToList();
        var below = expected.Where(e => actual.TryGetValue(e.Key, out var n) && n < e.Value).ToList();
        var unknown = actual.Keys.Where(w => !expected.ContainsKey(w)).ToList();
        if (missing.Count > 0 || below.Count > 0 || unknown.Count > 0)
        {
            Assert.Fail(
                $"windowed counts below the oracle after {timeout}: {missing.Count} of {expected.Count} windows missing ({string.Join(" ", missing.Take(10))}); "
                + $"{below.Count} below ({string.Join(" ", below.Take(10).Select(b => $"{b.Key}={actual[b.Key]}<{b.Value}"))}); "
                + $"{unknown.Count} unknown ({string.Join(" ", unknown.Take(10))}); status: {await describe()}");
        }

        var above = expected.Count(e => actual[e.Key] > e.Value);
        output.WriteLine($"windows: {expected.Count} expected, {sink.Count} results, {above} above the oracle");
        return above;
    }
}
