using Sluice.Windows;

namespace Sluice.Tests.Windows;

/// <summary>
/// Flink's assigner tests as data (flink-streaming-java, org.apache.flink.streaming.runtime.operators.windowing):
/// <c>TumblingEventTimeWindowsTest</c>, <c>SlidingEventTimeWindowsTest</c>, <c>EventTimeSessionWindowsTest</c> and
/// <c>TimeWindowTest</c>. Each test names the Flink test it replays; the timestamps, offsets and expected windows are
/// Flink's. Invalid configurations must be refused at construction, as Flink's <c>testInvalidParameters</c> asserts.
/// </summary>
public sealed class FlinkAssignerConformanceTests
{
    private static TimeSpan Ms(long ms) => TimeSpan.FromMilliseconds(ms);

    [Theory] // TumblingEventTimeWindowsTest: testWindowAssignment, ...WithGlobalOffset, ...WithNegativeGlobalOffset, testTimeUnits
    [InlineData(5000, 0, 0, 0, 5000)]
    [InlineData(5000, 0, 4999, 0, 5000)]
    [InlineData(5000, 0, 5000, 5000, 10000)]
    [InlineData(5000, 100, 100, 100, 5100)]
    [InlineData(5000, 100, 5099, 100, 5100)]
    [InlineData(5000, 100, 5100, 5100, 10100)]
    [InlineData(5000, -100, 0, -100, 4900)]
    [InlineData(5000, -100, 4899, -100, 4900)]
    [InlineData(5000, -100, 4900, 4900, 9900)]
    [InlineData(5000, 1000, 1000, 1000, 6000)]
    [InlineData(5000, 1000, 5999, 1000, 6000)]
    [InlineData(5000, 1000, 6000, 6000, 11000)]
    public void Tumbling_event_time_windows_assign_as_flink(long size, long offset, long timestamp, long start, long end)
    {
        var assigner = Tumbling.Of(Ms(size), Ms(offset));
        Assert.Equal([new TimeWindow(start, end)], Assign(assigner, timestamp));
        Assert.True(assigner.IsEventTime);
        Assert.IsType<EventTimeTrigger>(assigner.DefaultTrigger);
    }

    [Theory] // TumblingEventTimeWindowsTest.testInvalidParameters ("abs(offset) < size"), plus size 0
    [InlineData(-1000, 0)]
    [InlineData(0, 0)]
    [InlineData(10000, 20000)]
    [InlineData(10000, -11000)]
    [InlineData(10000, 10000)]
    public void Tumbling_windows_refuse_a_size_that_is_not_positive_or_an_offset_not_within_the_size(long size, long offset) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Tumbling.Of(Ms(size), Ms(offset)));

    public static TheoryData<long, long, long, long, long[]> SlidingCases => new()
    {
        // SlidingEventTimeWindowsTest.testWindowAssignment: size 5000, slide 1000 (window starts listed)
        { 5000, 1000, 0, 0, [-4000, -3000, -2000, -1000, 0] },
        { 5000, 1000, 0, 4999, [0, 1000, 2000, 3000, 4000] },
        { 5000, 1000, 0, 5000, [1000, 2000, 3000, 4000, 5000] },
        // testWindowAssignmentWithOffset: offset 100
        { 5000, 1000, 100, 100, [-3900, -2900, -1900, -900, 100] },
        { 5000, 1000, 100, 5099, [100, 1100, 2100, 3100, 4100] },
        { 5000, 1000, 100, 5100, [1100, 2100, 3100, 4100, 5100] },
        // testWindowAssignmentWithNegativeOffset: offset -100
        { 5000, 1000, -100, 0, [-4100, -3100, -2100, -1100, -100] },
        { 5000, 1000, -100, 4899, [-100, 900, 1900, 2900, 3900] },
        { 5000, 1000, -100, 4900, [900, 1900, 2900, 3900, 4900] },
        // testTimeUnits: 5 s every 1 s, offset 500 ms
        { 5000, 1000, 500, 100, [-4500, -3500, -2500, -1500, -500] },
        { 5000, 1000, 500, 5499, [500, 1500, 2500, 3500, 4500] },
        { 5000, 1000, 500, 5100, [500, 1500, 2500, 3500, 4500] },
    };

    [Theory]
    [MemberData(nameof(SlidingCases))]
    public void Sliding_event_time_windows_assign_as_flink(long size, long slide, long offset, long timestamp, long[] starts)
    {
        var assigner = Sliding.Of(Ms(size), Ms(slide), Ms(offset));
        Assert.Equal(starts.Select(s => new TimeWindow(s, s + size)).OrderBy(w => w.Start), Assign(assigner, timestamp).OrderBy(w => w.Start));
        Assert.True(assigner.IsEventTime);
        Assert.IsType<EventTimeTrigger>(assigner.DefaultTrigger);
    }

    [Theory] // SlidingEventTimeWindowsTest.testInvalidParameters ("abs(offset) < slide and size > 0")
    [InlineData(-2000, 1000, 0)]
    [InlineData(2000, -1000, 0)]
    [InlineData(-20000, 10000, -1000)]
    [InlineData(20000, 10000, -11000)]
    [InlineData(20000, 10000, 11000)]
    [InlineData(0, 1000, 0)]
    public void Sliding_windows_refuse_what_flink_refuses(long size, long slide, long offset) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Sliding.Of(Ms(size), Ms(slide), Ms(offset)));

    [Fact] // Flink accepts a slide longer than the size (sampling windows); records between windows belong to none.
    public void Sliding_windows_with_a_slide_longer_than_the_size_sample_and_leave_gaps()
    {
        var assigner = Sliding.Of(Ms(1000), Ms(5000));
        Assert.Equal([new TimeWindow(5000, 6000)], Assign(assigner, 5999));
        Assert.Empty(Assign(assigner, 6000));
        Assert.Empty(Assign(assigner, -1));
    }

    [Theory] // EventTimeSessionWindowsTest.testWindowAssignment and testTimeUnits: [t, t + gap)
    [InlineData(0)]
    [InlineData(4999)]
    [InlineData(5000)]
    [InlineData(-7)]
    public void Session_windows_assign_one_window_from_the_timestamp_as_flink(long timestamp)
    {
        var assigner = Session.WithGap(Ms(5000));
        Assert.Equal([new TimeWindow(timestamp, timestamp + 5000)], Assign(assigner, timestamp));
        Assert.True(assigner.IsEventTime);
        Assert.IsType<EventTimeTrigger>(assigner.DefaultTrigger);
        Assert.True(Session.WithDynamicGap<string>(_ => Ms(1)).IsEventTime); // testDynamicGapProperties
    }

    [Theory] // EventTimeSessionWindowsTest.testInvalidParameters ("0 < size")
    [InlineData(-1000)]
    [InlineData(0)]
    public void Session_windows_refuse_a_gap_that_is_not_positive(long gap) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Session.WithGap(Ms(gap)));

    [Fact] // EventTimeSessionWindowsTest.testMergeConsecutiveWindows, testMergeCoveringWindow, testMergeSingle(Point)Window
    public void Session_windows_merge_touching_and_covered_windows_as_flink()
    {
        var assigner = Session.WithGap(Ms(5000));
        Assert.Equal(
            [new TimeWindow(0, 3), new TimeWindow(4, 6)],
            Merge(assigner, [new(0, 1), new(1, 2), new(2, 3), new(4, 5), new(5, 6)]));
        Assert.Equal(
            [new TimeWindow(0, 2), new TimeWindow(4, 7)],
            Merge(assigner, [new(1, 1), new(0, 2), new(4, 7), new(5, 6)]));
        Assert.Equal([new TimeWindow(0, 0)], Merge(assigner, [new(0, 0)]));
        Assert.Equal([new TimeWindow(0, 1)], Merge(assigner, [new(0, 1)]));
    }

    [Theory] // TimeWindowTest.testGetWindowStartWithOffset
    [InlineData(-8, 0, 7, -14)]
    [InlineData(-7, 0, 7, -7)]
    [InlineData(-6, 0, 7, -7)]
    [InlineData(-1, 0, 7, -7)]
    [InlineData(1, 0, 7, 0)]
    [InlineData(6, 0, 7, 0)]
    [InlineData(7, 0, 7, 7)]
    [InlineData(8, 0, 7, 7)]
    [InlineData(-10, 3, 7, -11)]
    [InlineData(-9, 3, 7, -11)]
    [InlineData(-3, 3, 7, -4)]
    [InlineData(-2, 3, 7, -4)]
    [InlineData(-1, 3, 7, -4)]
    [InlineData(1, 3, 7, -4)]
    [InlineData(2, 3, 7, -4)]
    [InlineData(3, 3, 7, 3)]
    [InlineData(9, 3, 7, 3)]
    [InlineData(10, 3, 7, 10)]
    [InlineData(-12, -2, 7, -16)]
    [InlineData(-7, -2, 7, -9)]
    [InlineData(-4, -2, 7, -9)]
    [InlineData(-3, -2, 7, -9)]
    [InlineData(2, -2, 7, -2)]
    [InlineData(-1, -2, 7, -2)]
    [InlineData(1, -2, 7, -2)]
    [InlineData(-2, -2, 7, -2)]
    [InlineData(3, -2, 7, -2)]
    [InlineData(4, -2, 7, -2)]
    [InlineData(7, -2, 7, 5)]
    [InlineData(12, -2, 7, 12)]
    [InlineData(1470902048450L, -8 * 3_600_000L, 86_400_000L, 1470844800000L)] // a day in GMT+08:00
    public void Window_start_with_offset_is_flinks(long timestamp, long offset, long size, long start) =>
        Assert.Equal(start, TimeWindow.StartOf(timestamp, offset, size));

    [Fact] // TimeWindowTest.testIntersect
    public void Time_windows_intersect_when_they_overlap_or_touch()
    {
        var session = Session.WithGap(Ms(1));
        var window = new TimeWindow(10, 20);
        Assert.True(session.Intersects(window, window));
        Assert.True(session.Intersects(window, new TimeWindow(20, 30)) && session.Intersects(new TimeWindow(20, 30), window));
        Assert.False(session.Intersects(window, new TimeWindow(21, 30)) || session.Intersects(new TimeWindow(21, 30), window));
        Assert.True(session.Intersects(window, new TimeWindow(19, 22)) && session.Intersects(new TimeWindow(19, 22), window));
    }

    [Fact] // long.MaxValue: the window at the top of time keeps its end; a global window never ends (TimeWindow.maxTimestamp)
    public void Windows_at_the_end_of_time_do_not_overflow()
    {
        var top = Assign(Tumbling.Of(Ms(1000)), long.MaxValue - 1750).Single();
        Assert.Equal(new TimeWindow(long.MaxValue - 1807, long.MaxValue - 807), top);
        Assert.Equal(long.MaxValue - 808, top.MaxTimestamp);
        Assert.Equal(long.MaxValue, TimeWindow.Global.MaxTimestamp);
        Assert.Equal([TimeWindow.Global], Assign(GlobalWindows.Create(), long.MinValue));
        Assert.False(GlobalWindows.Create().IsEventTime); // GlobalWindowsTest: not event time, never-firing default trigger
        Assert.IsType<NeverTrigger>(GlobalWindows.Create().DefaultTrigger);
    }

    private static List<TimeWindow> Assign(WindowAssigner assigner, long timestamp)
    {
        var windows = new TimeWindow[Math.Max(1, assigner.MaxWindowsPerRecord)];
        var count = assigner.AssignWindows(timestamp, 0, windows);
        return [.. windows.Take(count)];
    }

    /// <summary>Flink's <c>TimeWindow.mergeWindows</c> rule through the assigner: sort by start, fold what intersects into its cover.</summary>
    private static List<TimeWindow> Merge(MergingWindowAssigner assigner, List<TimeWindow> windows)
    {
        var merged = new List<TimeWindow>();
        foreach (var window in windows.OrderBy(w => w.Start))
        {
            if (merged.Count > 0 && assigner.Intersects(merged[^1], window))
            {
                merged[^1] = assigner.Cover(merged[^1], window);
            }
            else
            {
                merged.Add(window);
            }
        }

        return merged;
    }
}
