using Sluice.Windows;

namespace Sluice.Tests.Windows;

/// <summary>
/// The global-window, count-trigger and evictor cases: from Flink's <c>WindowOperatorTest</c> (testCountTrigger,
/// testContinuousWatermarkTrigger, testEndOfStreamTrigger, testSessionWindowsWithCountTrigger,
/// testSessionWindowsWithContinuousEventTimeTrigger, testCleanupTimeOverflow) and <c>EvictingWindowOperatorTest</c> (keys prefixed with it), with
/// the same records, watermarks, snapshot/restore points and expected results. Flink's test functions sum the tuples'
/// second field whether as a reducer or an iterable window function, so each case sums here too. Left out:
/// EvictingWindowOperatorTest.testTimeEvictorNoTimestamp (every record here has a timestamp).
/// </summary>
public sealed partial class FlinkWindowOperatorConformanceTests
{
    private static readonly Dictionary<string, FlinkCase> GlobalAndEvictingCases = new()
    {
        ["testCountTrigger"] = new(GlobalWindows.Create, 0, false,
        [
            E("key2", 1, 3000), E("key2", 1, 3999), E("key1", 1, 20), E("key1", 1, 0), E("key1", 1, 999),
            E("key2", 1, 1998), E("key2", 1, 1999),
            new Restore(),
            E("key2", 1, 1000), Emit(G("key2", 4)),
            E("key1", 1, 10999), E("key2", 1, 1000), E("key2", 1, 1000), E("key2", 1, 1000),
            Emit(G("key1", 4), G("key2", 4)),
        ]) { Trigger = () => PurgingTrigger.Of(CountTrigger.Of(4)) },
        ["testContinuousWatermarkTrigger"] = new(GlobalWindows.Create, 0, false,
        [
            E("key1", 1, 0), E("key2", 1, 3000), E("key2", 1, 3999), E("key1", 1, 20), E("key1", 1, 999),
            E("key2", 1, 1998), E("key2", 1, 1999), E("key2", 1, 1000),
            new Watermark(1000), None(), new Watermark(2000), None(),
            new Watermark(3000), Emit(G("key1", 3)),
            new Watermark(4000), None(), new Watermark(5000), None(),
            new Watermark(6000), Emit(G("key1", 3), G("key2", 5)),
            new Watermark(7000), new Watermark(8000), None(),
        ]) { Trigger = () => ContinuousEventTimeTrigger.Of(S(3)) },
        ["testEndOfStreamTrigger"] = new(GlobalWindows.CreateWithEndOfStreamTrigger, 0, false,
        [
            E("key2", 1, 3000), E("key2", 1, 3999), E("key1", 1, 20), E("key1", 1, 0), E("key1", 1, 999),
            E("key2", 1, 1998), E("key2", 1, 1999), E("key2", 1, 1000), None(),
            new Watermark(long.MaxValue), Emit(G("key1", 3), G("key2", 5)),
        ]),
        ["testSessionWindowsWithCountTrigger"] = new(() => Session.WithGap(S(3)), 0, false,
        [
            E("key2", 1, 0), E("key2", 2, 1000), E("key2", 3, 2500), E("key2", 4, 3500),
            E("key1", 1, 10), E("key1", 2, 1000),
            Emit(new Out("key2", 10, 0, 6500, 6499)),
            new Restore(),
            E("key1", 3, 2500), E("key1", 1, 6000), E("key1", 2, 6500), E("key1", 3, 7000), None(),
            E("key1", 10, 4500), // merges the two key1 sessions: their counts add up and the record fires the merged session
            Emit(new Out("key1", 22, 10, 10000, 9999)),
        ]) { Trigger = () => PurgingTrigger.Of(CountTrigger.Of(4)) },
        ["testSessionWindowsWithContinuousEventTimeTrigger"] = new(() => Session.WithGap(S(3)), 0, false,
        [
            E("key1", 1, 1500), E("key2", 1, 0), E("key2", 3, 2500), E("key2", 2, 1000),
            new Watermark(2500), Emit(new Out("key1", 1, 1500, 4500, 4499), new Out("key2", 6, 0, 5500, 5499)),
            E("key2", 5, 4000), new Watermark(3000), None(),
            new Restore(),
            E("key1", 2, 4000), E("key2", 4, 3500),
            new Watermark(4000), Emit(new Out("key1", 3, 1500, 7000, 6999), new Out("key2", 15, 0, 7000, 6999)),
        ]) { Trigger = () => ContinuousEventTimeTrigger.Of(S(2)) },
        ["testCleanupTimeOverflow"] = new(() => Tumbling.Of(TimeSpan.FromMilliseconds(1000)), 2000, false,
        [
            // The window of long.MaxValue - 1750 ends 807 ms before long.MaxValue; end - 1 + lateness would wrap around.
            E("key2", 1, long.MaxValue - 1750),
            new Watermark(long.MaxValue - 1500), None(),
            new Watermark(long.MaxValue - 808), Emit(new Out("key2", 1, long.MaxValue - 1807, long.MaxValue - 807, long.MaxValue - 808)),
        ]),
        ["EvictingWindowOperatorTest.testCountEvictorEvictAfter"] = new(GlobalWindows.Create, 0, false,
        [
            .. EvictingPrefix(1, 1, 1, 1, 1, 1, 1, 1),
            Emit(G("key2", 2), G("key2", 4), G("key1", 2)),
            E("key1", 1, 10999), E("key2", 1, 1000), Emit(G("key1", 4), G("key2", 6)),
            E("key2", 1, 1000), E("key2", 1, 1000), Emit(G("key2", 6)),
        ]) { Trigger = () => CountTrigger.Of(2), Evictor = () => Evictor.Count<Click>(4, evictAfter: true) },
        ["EvictingWindowOperatorTest.testTimeEvictorEvictAfter"] = new(GlobalWindows.Create, 0, false,
        [
            E("key2", 1, 1000), E("key2", 1, 4000), E("key1", 1, 20), E("key1", 1, 0), E("key1", 1, 999),
            E("key2", 1, 3500), E("key2", 1, 2001), E("key2", 1, 1001),
            Emit(G("key2", 2), G("key1", 2), G("key2", 3)),
            E("key1", 1, 10999), E("key2", 1, 1002), Emit(G("key1", 4), G("key2", 5)),
        ]) { Trigger = () => CountTrigger.Of(2), Evictor = () => Evictor.Time<Click>(S(2), evictAfter: true) },
        ["EvictingWindowOperatorTest.testTimeEvictorEvictBefore"] = new(() => Tumbling.Of(S(4)), 0, false,
        [
            E("key2", 1, 1000), E("key2", 1, 3999), E("key1", 1, 20), E("key1", 1, 0), E("key1", 1, 999), E("key1", 1, 5999),
            E("key2", 1, 3500), E("key2", 1, 2001), E("key2", 1, 1001),
            Emit(new Out("key2", 1, 0, 4000, 3999), new Out("key1", 2, 0, 4000, 3999), new Out("key2", 3, 0, 4000, 3999)),
            E("key1", 1, 6500), E("key2", 1, 1002),
            Emit(new Out("key1", 2, 4000, 8000, 7999), new Out("key2", 3, 0, 4000, 3999)),
        ]) { Trigger = () => CountTrigger.Of(2), Evictor = () => Evictor.Time<Click>(S(2)) },
        ["EvictingWindowOperatorTest.testDeltaEvictorEvictBefore"] = new(GlobalWindows.Create, 0, false,
        [
            .. EvictingPrefix(1, 4, 1, 1, 5, 5, 6, 1),
            Emit(G("key2", 4), G("key2", 11), G("key1", 2)),
            E("key1", 3, 10999), E("key2", 10, 1000), Emit(G("key1", 8), G("key2", 10)),
        ]) { Trigger = () => CountTrigger.Of(2), Evictor = () => Evictor.Delta<Click>(2, FlinkDelta) },
        ["EvictingWindowOperatorTest.testDeltaEvictorEvictAfter"] = new(GlobalWindows.Create, 0, false,
        [
            .. EvictingPrefix(1, 4, 1, 1, 5, 5, 6, 1),
            Emit(G("key2", 5), G("key2", 15), G("key1", 2)),
            E("key1", 9, 10999), E("key2", 10, 1000), Emit(G("key1", 16), G("key2", 22)),
        ]) { Trigger = () => CountTrigger.Of(2), Evictor = () => Evictor.Delta<Click>(2, FlinkDelta, evictAfter: true) },
        ["EvictingWindowOperatorTest.testCountTrigger"] = new(GlobalWindows.Create, 0, false,
        [
            .. EvictingPrefix(1, 1, 1, 1, 1, 1, 1, 1),
            Emit(G("key2", 2), G("key2", 4), G("key1", 2)),
            E("key1", 1, 10999), E("key2", 1, 1000), Emit(G("key1", 4), G("key2", 4)),
        ]) { Trigger = () => CountTrigger.Of(2), Evictor = () => Evictor.Count<Click>(4) },
        ["EvictingWindowOperatorTest.testTumblingWindowWithApply"] = new(() => Tumbling.Of(S(4)), 0, false,
        [
            E("key1", 1, 10), E("key1", 1, 100), new Watermark(1999), None(),
            E("key1", 1, 1997), E("key1", 1, 1998), E("key1", 1, 2310), E("key1", 1, 2310), E("key2", 1, 2310), E("key2", 1, 2310),
            new Watermark(3999), Emit(new Out("key1", 4, 0, 4000, 3999), new Out("key2", 2, 0, 4000, 3999)),
        ]) { Evictor = () => Evictor.Count<Click>(4) },
    };

    /// <summary>Flink's delta function in the evictor tests: new value minus old value.</summary>
    private static double FlinkDelta(Click older, Click newer) => newer.Value - older.Value;

    /// <summary>The first eight records of most EvictingWindowOperatorTest cases, with the given values in their order.</summary>
    private static IEnumerable<Step> EvictingPrefix(params long[] values)
    {
        string[] keys = ["key2", "key2", "key1", "key1", "key1", "key2", "key2", "key2"];
        long[] timestamps = [3000, 3999, 20, 0, 999, 1998, 1999, 1000];
        for (var i = 0; i < keys.Length; i++)
        {
            yield return E(keys[i], values[i], timestamps[i]);
        }
    }

    private static Element E(string key, long value, long timestamp) => new(key, value, timestamp);

    /// <summary>A global window's result: the window [long.MinValue, long.MaxValue), stamped long.MaxValue.</summary>
    private static Out G(string key, long sum) => new(key, sum, long.MinValue, long.MaxValue, long.MaxValue);
}
