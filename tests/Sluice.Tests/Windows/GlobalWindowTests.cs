using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.Windows;

namespace Sluice.Tests.Windows;

/// <summary>
/// Global windows with their triggers and evictors, and count windows, driven through the operator as a key group runs it:
/// what fires, when, with which records, and what the window keeps afterwards (also across a restore).
/// </summary>
public sealed class GlobalWindowTests
{
    [Fact]
    public void Count_window_fires_and_purges_every_size_records_per_key()
    {
        var h = Sum(k => k.CountWindow(3));
        Feed(h, ("a", 1), ("a", 2), ("b", 10), ("a", 3), ("b", 20), ("a", 4), ("a", 5));
        Assert.Equal([("a", 6L, long.MaxValue)], Drain(h));
        Feed(h, ("a", 6), ("b", 30));
        Assert.Equal([("a", 15L, long.MaxValue), ("b", 60L, long.MaxValue)], Drain(h).Order());
        Assert.Equal(0, h.StateEntries);
    }

    [Fact]
    public void Sliding_count_window_fires_every_slide_records_over_the_last_size()
    {
        var h = Sum(k => k.CountWindow(3, 2));
        for (var v = 1; v <= 7; v++)
        {
            h.Element(new Reading("a", v), v);
        }

        // Fires after records 2, 4 and 6 with the newest three at most: [1,2], [2,3,4], [4,5,6].
        Assert.Equal([3L, 9L, 15L], h.Drain().Select(o => o.Value.Sum));
    }

    [Fact]
    public void Count_window_keeps_its_partial_count_and_records_across_a_restore()
    {
        var h = Sum(k => k.CountWindow(4, 2));
        Feed(h, ("a", 1), ("a", 2), ("a", 3));
        Assert.Equal([3L], h.Drain().Select(o => o.Value.Sum));
        h.Restart();
        Feed(h, ("a", 4));
        Assert.Equal([10L], h.Drain().Select(o => o.Value.Sum));
        h.Restart();
        Feed(h, ("a", 5), ("a", 6));
        Assert.Equal([18L], h.Drain().Select(o => o.Value.Sum));
    }

    [Fact]
    public void Records_behind_the_watermark_are_never_late_for_a_global_window()
    {
        var late = new OutputTag<Reading>("late");
        var h = new WindowHarness<Reading, Result>(
            k => k.Window(GlobalWindows.Create()).Trigger(CountTrigger.Of(2)).SideOutputLateData(late).Aggregate(Aggregates.Sum<Reading>(r => r.Value), new ToResult()),
            r => r.Key,
            late);
        h.Watermark(1_000).Element(new Reading("a", 1), 5).Element(new Reading("a", 2), 10);
        Assert.Equal([3L], h.Drain().Select(o => o.Value.Sum));
        Assert.Empty(h.LateOutput);
        Assert.Equal(0, h.Counters.LateRecordsDropped);
    }

    [Fact]
    public void Accumulating_count_trigger_re_emits_everything_so_far()
    {
        var h = Sum(k => k.Window(GlobalWindows.Create()).Trigger(CountTrigger.Of(2)));
        Feed(h, ("a", 1), ("a", 2), ("a", 3), ("a", 4));
        Assert.Equal([3L, 10L], h.Drain().Select(o => o.Value.Sum));
    }

    [Fact]
    public void Delta_trigger_fires_when_a_record_moves_past_the_threshold_from_the_last_firing()
    {
        var h = Sum(k => k.Window(GlobalWindows.Create())
            .Trigger(PurgingTrigger.Of(DeltaTrigger.Of<Reading>(5, (a, b) => Math.Abs(a.Value - b.Value)))));
        Feed(h, ("a", 1), ("a", 3), ("a", 6), ("a", 7), ("a", 12), ("a", 13));
        // Reference 1: 3 and 6 stay within 5; 7 is 6 away -> fires [1,3,6,7] = 17 and becomes the reference; 12 is 5 away
        // (not above), 13 is 6 away -> fires [12, 13] = 25.
        Assert.Equal([17L, 25L], h.Drain().Select(o => o.Value.Sum));
    }

    [Fact]
    public void Delta_trigger_keeps_its_reference_record_across_a_restore()
    {
        var h = Sum(k => k.Window(GlobalWindows.Create()).Trigger(DeltaTrigger.Of<Reading>(5, (a, b) => b.Value - a.Value)));
        Feed(h, ("a", 1), ("a", 4));
        h.Restart();
        Feed(h, ("a", 7));
        Assert.Equal([12L], h.Drain().Select(o => o.Value.Sum));
    }

    [Fact]
    public void Continuous_processing_time_trigger_fires_every_interval_while_the_window_holds_records()
    {
        var h = Sum(k => k.Window(GlobalWindows.Create()).Trigger(ContinuousProcessingTimeTrigger.Of(TimeSpan.FromMilliseconds(100))));
        h.ProcessingTime(130).Element(new Reading("a", 1), 0).Element(new Reading("a", 2), 0);
        h.ProcessingTime(199);
        Assert.Empty(h.Drain());
        h.ProcessingTime(200);
        Assert.Equal([3L], h.Drain().Select(o => o.Value.Sum));
        h.Element(new Reading("a", 4), 0).ProcessingTime(250).Restart().ProcessingTime(300);
        Assert.Equal([7L], h.Drain().Select(o => o.Value.Sum));
    }

    [Fact]
    public void Continuous_event_time_trigger_keeps_firing_after_a_purge()
    {
        var h = Sum(k => k.Window(GlobalWindows.Create()).Trigger(PurgingTrigger.Of(ContinuousEventTimeTrigger.Of(TimeSpan.FromMilliseconds(10)))));
        h.Element(new Reading("a", 1), 3).Watermark(10);
        Assert.Equal([1L], h.Drain().Select(o => o.Value.Sum));
        h.Watermark(20);
        Assert.Empty(h.Drain());
        h.Element(new Reading("a", 5), 25).Watermark(30);
        Assert.Equal([5L], h.Drain().Select(o => o.Value.Sum));
    }

    [Fact]
    public void End_of_stream_trigger_fires_once_when_the_watermark_reaches_its_end()
    {
        var h = Sum(k => k.Window(GlobalWindows.CreateWithEndOfStreamTrigger()));
        Feed(h, ("a", 1), ("b", 2), ("a", 3));
        h.Watermark(long.MaxValue - 1);
        Assert.Empty(h.Drain());
        h.Watermark(long.MaxValue);
        Assert.Equal([("a", 4L, long.MaxValue), ("b", 2L, long.MaxValue)], Drain(h).Order());
    }

    [Fact]
    public void Time_evictor_keeps_the_records_within_its_size_of_the_newest()
    {
        var h = Sum(k => k.Window(GlobalWindows.Create()).Trigger(CountTrigger.Of(4)).Evictor(Evictor.Time<Reading>(TimeSpan.FromMilliseconds(10))));
        h.Element(new Reading("a", 1), 100).Element(new Reading("a", 2), 95).Element(new Reading("a", 4), 110).Element(new Reading("a", 8), 101);
        // Newest is 110: records at or before 100 go, 101 and 110 stay.
        Assert.Equal([12L], h.Drain().Select(o => o.Value.Sum));
        h.Element(new Reading("a", 16), 105).Element(new Reading("a", 32), 120);
        // The count restarted at zero when the window fired: two more records do not fire it.
        Assert.Empty(h.Drain());
        h.Element(new Reading("a", 64), 121).Element(new Reading("a", 128), 122);
        // Window now 101, 110, 105, 120, 121, 122; newest 122, cutoff 112: 120, 121, 122 stay.
        Assert.Equal([224L], h.Drain().Select(o => o.Value.Sum));
    }

    [Fact]
    public void Delta_evictor_drops_records_at_or_beyond_the_threshold_from_the_last()
    {
        var h = Sum(k => k.Window(GlobalWindows.Create()).Trigger(CountTrigger.Of(4))
            .Evictor(Evictor.Delta<Reading>(5, (a, b) => Math.Abs(a.Value - b.Value))));
        Feed(h, ("a", 1), ("a", 9), ("a", 6), ("a", 10));
        // Last is 10: 1 (delta 9) goes, 9 (1) and 6 (4) stay.
        Assert.Equal([25L], h.Drain().Select(o => o.Value.Sum));
    }

    [Fact]
    public void Evict_after_lets_the_function_see_every_record_then_trims_what_the_window_keeps()
    {
        var h = Sum(k => k.Window(GlobalWindows.Create()).Trigger(CountTrigger.Of(3)).Evictor(Evictor.Count<Reading>(1, evictAfter: true)));
        Feed(h, ("a", 1), ("a", 2), ("a", 3));
        Assert.Equal([6L], h.Drain().Select(o => o.Value.Sum));
        Feed(h, ("a", 10), ("a", 20), ("a", 30));
        // The window kept only 3; the function sees 3, 10, 20, 30.
        Assert.Equal([63L], h.Drain().Select(o => o.Value.Sum));
    }

    [Fact]
    public void Custom_trigger_and_custom_evictor_plug_into_the_window()
    {
        var h = new WindowHarness<Reading, Result>(
            k => k.Window(GlobalWindows.Create()).Trigger(new FireOnZero()).Evictor(new DropOdd()).Process(new ListAll()),
            r => r.Key);
        Feed(h, ("a", 1), ("a", 2), ("a", 3), ("a", 4), ("a", 0));
        Assert.Equal([6L], h.Drain().Select(o => o.Value.Sum)); // 2 + 4 + 0: odd ones evicted before the function
        Feed(h, ("a", 8), ("a", 0));
        Assert.Equal([14L], h.Drain().Select(o => o.Value.Sum)); // FireOnZero purges nothing: 2, 4, 0, 8, 0
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    public void Count_windows_and_count_triggers_reject_a_count_that_is_not_positive(long size)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CountTrigger.Of(size));
        Assert.Throws<ArgumentOutOfRangeException>(() => Evictor.Count<Reading>(size));
        Assert.Throws<ArgumentOutOfRangeException>(() => ContinuousEventTimeTrigger.Of(TimeSpan.FromMilliseconds(size)));
    }

    private static WindowHarness<Reading, Result> Sum(Func<KeyedStream<Reading, string>, WindowedStream<Reading, string>> window) =>
        new(k => window(k).Aggregate(Aggregates.Sum<Reading>(r => r.Value), new ToResult()), r => r.Key);

    private static void Feed(WindowHarness<Reading, Result> h, params (string Key, long Value)[] records)
    {
        var ts = 0L;
        foreach (var (key, value) in records)
        {
            h.Element(new Reading(key, value), ts++);
        }
    }

    private static List<(string, long, long)> Drain(WindowHarness<Reading, Result> h) =>
        h.Drain().Select(o => (o.Value.Key, o.Value.Sum, o.Timestamp)).ToList();

    [GenerateSerializer, Immutable]
    public readonly record struct Reading([property: Id(0)] string Key, [property: Id(1)] long Value);

    internal readonly record struct Result(string Key, long Sum, TimeWindow Window);

    private sealed class ToResult : IProcessWindowFunction<long, Result, string>
    {
        public void Process(string key, WindowContext context, IReadOnlyList<long> elements, ICollector<Result> output) =>
            output.Collect(new Result(key, elements[0], context.Window));
    }

    private sealed class ListAll : IProcessWindowFunction<Reading, Result, string>
    {
        public void Process(string key, WindowContext context, IReadOnlyList<Reading> elements, ICollector<Result> output) =>
            output.Collect(new Result(key, elements.Sum(e => e.Value), context.Window));
    }

    /// <summary>A user trigger: fires (without purging) on a record whose value is zero.</summary>
    private sealed class FireOnZero : Trigger
    {
        public override TriggerResult OnElement<T>(T element, long timestamp, TimeWindow window, ITriggerContext context) =>
            element is Reading { Value: 0 } ? TriggerResult.Fire : TriggerResult.Continue;

        public override TriggerResult OnElement(long timestamp, TimeWindow window, ITriggerContext context) => TriggerResult.Continue;

        public override TriggerResult OnEventTime(long time, TimeWindow window, ITriggerContext context) => TriggerResult.Continue;

        public override TriggerResult OnProcessingTime(long time, TimeWindow window, ITriggerContext context) => TriggerResult.Continue;

        public override void Clear(TimeWindow window, ITriggerContext context)
        {
        }
    }

    /// <summary>A user evictor: odd values go before the function.</summary>
    private sealed class DropOdd : IEvictor<Reading>
    {
        public void EvictBefore(List<TimestampedValue<Reading>> elements, TimeWindow window, IEvictorContext context) =>
            elements.RemoveAll(e => e.Value.Value % 2 != 0);

        public void EvictAfter(List<TimestampedValue<Reading>> elements, TimeWindow window, IEvictorContext context)
        {
        }
    }
}
