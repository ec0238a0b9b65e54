using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.Windows;

namespace Sluice.Tests.Windows;

/// <summary>
/// Session windows: windows of a key that overlap or touch merge, their contents merge in the state backend, timers
/// follow the merged window, and a record behind the watermark still lands when the session it joins is not late.
/// </summary>
public sealed class SessionWindowTests
{
    private static readonly OutputTag<Click> LateClicks = new("late-clicks");

    [Fact]
    public void Records_within_the_gap_form_one_session_that_fires_once_at_its_end()
    {
        var h = Harness(Session.WithGap(Ms(10)));
        h.Element(new Click("a", 1), 0).Element(new Click("a", 2), 5).Element(new Click("a", 4), 12);
        h.Element(new Click("b", 8), 3);
        Assert.Empty(h.Watermark(11).Drain());
        Assert.Equal([(new Result("b", 3, 13, 8, WindowFiring.OnTime), 12L)], h.Watermark(12).Drain());
        Assert.Equal([(new Result("a", 0, 22, 7, WindowFiring.OnTime), 21L)], h.Watermark(21).Drain());
        Assert.Equal(0, h.StateEntries);
    }

    [Fact]
    public void Touching_sessions_merge()
    {
        // [0, 10) and [10, 20) touch: Flink's TimeWindow.intersects counts end == start.
        var h = Harness(Session.WithGap(Ms(10)));
        h.Element(new Click("a", 1), 0).Element(new Click("a", 2), 10);
        Assert.Equal([(new Result("a", 0, 20, 3, WindowFiring.OnTime), 19L)], h.Watermark(100).Drain());
    }

    [Fact]
    public void Session_windows_merge_when_a_late_record_bridges_the_gap()
    {
        var h = Harness(Session.WithGap(Ms(10)));
        h.Element(new Click("a", 1), 0).Element(new Click("a", 2), 30);
        Assert.Equal([(new Result("a", 0, 10, 1, WindowFiring.OnTime), 9L)], h.Watermark(9).Drain());

        // Its own window [5, 15) is late (14 <= watermark 20) but merges with the live session [30, 40)? No: it touches
        // neither [30, 40) nor the cleaned [0, 10) - so it is late. A record at 22 opens [22, 32), which merges with [30, 40).
        h.Watermark(20);
        h.Element(new Click("a", 4), 5);
        Assert.Equal([(new Click("a", 4), 5L)], h.LateOutput);
        h.Element(new Click("a", 8), 15); // [15, 25) is not late: a new session
        h.Element(new Click("a", 16), 22); // [22, 32) bridges [15, 25) and [30, 40)
        Assert.Empty(h.Drain());
        Assert.Equal([(new Result("a", 15, 40, 26, WindowFiring.OnTime), 39L)], h.Watermark(39).Drain());
        Assert.Equal(0, h.StateEntries);
    }

    [Fact]
    public void A_record_behind_the_watermark_lands_when_the_session_it_joins_is_not_late()
    {
        var h = Harness(Session.WithGap(Ms(10)));
        h.Element(new Click("a", 1), 20).Watermark(25);
        h.Element(new Click("a", 2), 12); // [12, 22) is late on its own (21 <= 25), merges into [12, 30), which is not
        Assert.Empty(h.LateOutput);
        Assert.Equal(0, h.Counters.LateRecordsDropped);
        Assert.Equal([(new Result("a", 12, 30, 3, WindowFiring.OnTime), 29L)], h.Watermark(29).Drain());
    }

    [Fact]
    public void A_merged_session_does_not_fire_at_the_end_of_the_windows_it_absorbed()
    {
        var h = Harness(Session.WithGap(Ms(10)));
        h.Element(new Click("a", 1), 0).Element(new Click("a", 2), 8);
        Assert.Empty(h.Watermark(9).Drain());
        Assert.Empty(h.Watermark(16).Drain());
        Assert.Equal([(new Result("a", 0, 18, 3, WindowFiring.OnTime), 17L)], h.Watermark(17).Drain());
    }

    [Fact]
    public void Late_records_within_the_allowed_lateness_update_a_fired_session()
    {
        var h = Harness(Session.WithGap(Ms(10)), lateness: 20);
        h.Element(new Click("a", 1), 0).Watermark(15);
        Assert.Equal([(new Result("a", 0, 10, 1, WindowFiring.OnTime), 9L)], h.Drain());
        h.Element(new Click("a", 2), 12); // [12, 22): a second session, not late
        h.Element(new Click("a", 4), 9);  // [9, 19) bridges the fired [0, 10) and [12, 22) into [0, 22), whose end is ahead
        Assert.Empty(h.Drain());
        Assert.Equal([(new Result("a", 0, 22, 7, WindowFiring.OnTime), 21L)], h.Watermark(21).Drain());
        h.Watermark(25).Element(new Click("a", 8), 5); // inside the fired [0, 22): a late update
        Assert.Equal([(new Result("a", 0, 22, 15, WindowFiring.Late), 21L)], h.Drain());
        h.Watermark(40);
        Assert.True(h.StateEntries > 0);
        h.Watermark(41); // end - 1 + lateness = 21 + 20
        Assert.Equal(0, h.StateEntries);
        h.Element(new Click("a", 16), 11);
        Assert.Empty(h.Drain());
        Assert.Equal([(new Click("a", 16), 11L)], h.LateOutput);
    }

    [Fact]
    public void Dynamic_gaps_come_from_each_record()
    {
        var h = Harness(Session.WithDynamicGap<Click>(c => Ms(c.Value)));
        h.Element(new Click("a", 5), 0).Element(new Click("a", 20), 10).Element(new Click("a", 1), 40);
        Assert.Equal(
            [(new Result("a", 0, 5, 5, WindowFiring.OnTime), 4L), (new Result("a", 10, 30, 20, WindowFiring.OnTime), 29L), (new Result("a", 40, 41, 1, WindowFiring.OnTime), 40L)],
            h.Watermark(100).Drain());
    }

    [Fact]
    public void A_dynamic_gap_of_zero_fails_the_record_as_flink_does()
    {
        var h = Harness(Session.WithDynamicGap<Click>(c => Ms(c.Value)));
        Assert.Throws<ArgumentOutOfRangeException>(() => h.Element(new Click("a", 0), 0));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_gap_that_is_not_positive_is_rejected(long gap) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Session.WithGap(Ms(gap)));

    [Fact]
    public void A_trigger_that_cannot_merge_is_rejected_for_sessions()
    {
        var windowed = Pipeline.Create("bad").From(new global::Sluice.Sources.InMemorySource<Click>("in", 1)).KeyBy(c => c.User).Window(Session.WithGap(Ms(10)));
        Assert.Throws<ArgumentException>(() => windowed.Trigger(new NonMerging()));
    }

    [Fact]
    public void Sessions_and_their_merging_set_survive_a_restart_from_a_checkpoint()
    {
        var h = Harness(Session.WithGap(Ms(10)));
        h.Element(new Click("a", 1), 0).Element(new Click("a", 2), 30).Element(new Click("a", 4), 5);
        h.Restart();
        h.Element(new Click("a", 8), 14); // [14, 24) joins [0, 15) and, after a record at 24, [30, 40) too
        h.Element(new Click("a", 16), 24);
        Assert.Empty(h.Watermark(38).Drain());
        h.Restart();
        Assert.Equal([(new Result("a", 0, 40, 31, WindowFiring.OnTime), 39L)], h.Watermark(39).Drain());
        Assert.Equal(0, h.StateEntries);
    }

    internal static TimeSpan Ms(long ms) => TimeSpan.FromMilliseconds(ms);

    private static WindowHarness<Click, Result> Harness(WindowAssigner assigner, long lateness = 0) =>
        new(
            keyed => keyed.Window(assigner).AllowedLateness(Ms(lateness)).SideOutputLateData(LateClicks)
                .Aggregate(Aggregates.Sum<Click>(c => c.Value), new WithFiring(), "sessions"),
            c => c.User,
            LateClicks);

    internal readonly record struct Click(string User, long Value);

    internal readonly record struct Result(string User, long Start, long End, long Sum, WindowFiring Firing);

    private sealed class WithFiring : IProcessWindowFunction<long, Result, string>
    {
        public void Process(string key, WindowContext context, IReadOnlyList<long> elements, ICollector<Result> output) =>
            output.Collect(new Result(key, context.Window.Start, context.Window.End, elements[0], context.Firing));
    }

    private sealed class NonMerging : Trigger
    {
        public override TriggerResult OnElement(long timestamp, TimeWindow window, ITriggerContext context) => TriggerResult.Fire;

        public override TriggerResult OnEventTime(long time, TimeWindow window, ITriggerContext context) => TriggerResult.Continue;

        public override TriggerResult OnProcessingTime(long time, TimeWindow window, ITriggerContext context) => TriggerResult.Continue;

        public override void Clear(TimeWindow window, ITriggerContext context)
        {
        }
    }
}
