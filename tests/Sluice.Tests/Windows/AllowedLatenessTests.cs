using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.Windows;

namespace Sluice.Tests.Windows;

/// <summary>
/// Allowed lateness and the late-data side output of event-time windows, driven with explicit watermarks: which result
/// fires at which watermark, whether it is the on-time firing or a late update, when the state goes, and where records
/// late beyond the lateness end up.
/// </summary>
public sealed class AllowedLatenessTests
{
    private static readonly OutputTag<Click> LateClicks = new("late-clicks");

    [Fact]
    public void A_record_within_the_allowed_lateness_refires_its_window_with_the_updated_result_marked_late()
    {
        var h = Harness(Tumbling.Of(Ms(10)), lateness: 5);
        h.Element(new Click("a", 1), 1).Element(new Click("a", 2), 7);
        Assert.Empty(h.Watermark(8).Drain());

        Assert.Equal([(new Result("a", 0, 10, 3, WindowFiring.OnTime), 9L)], h.Watermark(9).Drain());

        h.Element(new Click("a", 4), 3); // behind the watermark, within 9 + 5
        Assert.Equal([(new Result("a", 0, 10, 7, WindowFiring.Late), 9L)], h.Drain());
        h.Watermark(13).Element(new Click("a", 8), 9);
        Assert.Equal([(new Result("a", 0, 10, 15, WindowFiring.Late), 9L)], h.Drain());
        Assert.Empty(h.LateOutput);
        Assert.Equal(0, h.Counters.LateRecordsDropped + h.Counters.LateRecordsSideOutput);
    }

    [Fact]
    public void Window_state_is_cleaned_when_the_watermark_reaches_end_minus_one_plus_lateness()
    {
        var h = Harness(Tumbling.Of(Ms(10)), lateness: 5);
        h.Element(new Click("a", 1), 2).Watermark(9);
        Assert.True(h.StateEntries > 0);
        h.Watermark(13);
        Assert.True(h.StateEntries > 0, "state must outlive the on-time firing by the allowed lateness");
        h.Watermark(14);
        Assert.Equal(0, h.StateEntries);

        // The window is gone: a record for it is late beyond the lateness and does not resurrect it.
        h.Drain();
        h.Element(new Click("a", 100), 5);
        Assert.Empty(h.Drain());
        Assert.Equal(0, h.StateEntries);
        Assert.Equal([(new Click("a", 100), 5L)], h.LateOutput);
    }

    [Fact]
    public void Records_late_beyond_the_lateness_go_to_the_side_output_and_are_counted_there_not_as_dropped()
    {
        var h = Harness(Tumbling.Of(Ms(10)), lateness: 5);
        h.Element(new Click("a", 1), 2).Watermark(20);
        h.Element(new Click("a", 2), 5);   // window [0, 10) cleaned at 14: late
        h.Element(new Click("a", 3), 15);  // window [10, 20) within lateness: lands and fires late
        h.Element(new Click("b", 4), -1);  // window [-10, 0) never had state: late
        Assert.Equal([(new Click("a", 2), 5L), (new Click("b", 4), -1L)], h.LateOutput);
        Assert.Equal(2, h.Counters.LateRecordsSideOutput);
        Assert.Equal(0, h.Counters.LateRecordsDropped);
        Assert.Equal(
            [(new Result("a", 0, 10, 1, WindowFiring.OnTime), 9L), (new Result("a", 10, 20, 3, WindowFiring.Late), 19L)],
            h.Drain());
    }

    [Fact]
    public void Without_a_side_output_records_late_beyond_the_lateness_are_dropped_and_counted()
    {
        var h = Harness(Tumbling.Of(Ms(10)), lateness: 5, sideOutput: false);
        h.Element(new Click("a", 1), 2).Watermark(14).Element(new Click("a", 2), 9);
        Assert.Equal(1, h.Counters.LateRecordsDropped);
        Assert.Equal(0, h.Counters.LateRecordsSideOutput);
        Assert.Empty(h.LateOutput);
    }

    [Fact]
    public void Sliding_windows_take_a_late_record_into_the_windows_still_within_lateness_only()
    {
        // Windows of 10 every 5: a record at 7 belongs to [0, 10) and [5, 15).
        var h = Harness(Sliding.Of(Ms(10), Ms(5)), lateness: 2);
        h.Element(new Click("a", 1), 7).Watermark(14);
        Assert.Equal(
            [(new Result("a", 0, 10, 1, WindowFiring.OnTime), 9L), (new Result("a", 5, 15, 1, WindowFiring.OnTime), 14L)],
            h.Drain());
        h.Element(new Click("a", 10), 8); // [0, 10) was cleaned at 11; [5, 15) is within 14 + 2
        Assert.Equal([(new Result("a", 5, 15, 11, WindowFiring.Late), 14L)], h.Drain());
        Assert.Empty(h.LateOutput);
        Assert.Equal(0, h.Counters.LateRecordsDropped);
    }

    [Fact]
    public void Lateness_survives_a_restart_from_a_checkpoint_taken_between_the_on_time_firing_and_the_cleanup()
    {
        var h = Harness(Tumbling.Of(Ms(10)), lateness: 5);
        h.Element(new Click("a", 1), 2).Watermark(10);
        h.Drain();
        h.Restart();
        h.Element(new Click("a", 2), 3);
        Assert.Equal([(new Result("a", 0, 10, 3, WindowFiring.Late), 9L)], h.Drain());
        h.Watermark(14);
        Assert.Equal(0, h.StateEntries);
        h.Element(new Click("a", 4), 3);
        Assert.Single(h.LateOutput);
    }

    [Fact]
    public void A_cleanup_time_past_long_max_value_saturates_and_the_window_is_never_cleaned_as_in_flink()
    {
        // end - 1 + lateness overflows: Flink's cleanupTime saturates at long.MaxValue and registers no cleanup timer.
        const long t = long.MaxValue - 100_000_000_000_000;
        var start = TimeWindow.StartOf(t, 0, 10);
        var h = Harness(Tumbling.Of(Ms(10)), lateness: (long)TimeSpan.MaxValue.TotalMilliseconds);
        h.Element(new Click("a", 1), t).Watermark(long.MaxValue - 1);
        h.Element(new Click("a", 2), t);
        Assert.Equal(
            [(new Result("a", start, start + 10, 1, WindowFiring.OnTime), start + 9), (new Result("a", start, start + 10, 3, WindowFiring.Late), start + 9)],
            h.Drain());
        Assert.True(h.StateEntries > 0);
        Assert.Empty(h.LateOutput);
    }

    [Fact]
    public void A_negative_allowed_lateness_is_rejected_naming_the_setting()
    {
        var pipeline = Pipeline.Create("bad");
        var windowed = pipeline.From(new global::Sluice.Sources.InMemorySource<Click>("in", 1)).KeyBy(c => c.User).Window(Tumbling.Of(Ms(10)));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => windowed.AllowedLateness(TimeSpan.FromMilliseconds(-1)));
        Assert.Contains("AllowedLateness", error.Message);
    }

    internal static TimeSpan Ms(long ms) => TimeSpan.FromMilliseconds(ms);

    private static WindowHarness<Click, Result> Harness(WindowAssigner assigner, long lateness, bool sideOutput = true) =>
        new(
            keyed =>
            {
                var windowed = keyed.Window(assigner).AllowedLateness(Ms(lateness));
                return (sideOutput ? windowed.SideOutputLateData(LateClicks) : windowed)
                    .Aggregate(Aggregates.Sum<Click>(c => c.Value), new WithFiring(), "sum");
            },
            c => c.User,
            sideOutput ? LateClicks : null);

    internal readonly record struct Click(string User, long Value);

    internal readonly record struct Result(string User, long Start, long End, long Sum, WindowFiring Firing);

    private sealed class WithFiring : IProcessWindowFunction<long, Result, string>
    {
        public void Process(string key, WindowContext context, IReadOnlyList<long> elements, ICollector<Result> output) =>
            output.Collect(new Result(key, context.Window.Start, context.Window.End, elements[0], context.Firing));
    }
}
