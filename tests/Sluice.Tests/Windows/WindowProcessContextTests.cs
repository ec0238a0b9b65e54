using Sluice.Functions;
using Sluice.State;
using Sluice.Windows;

namespace Sluice.Tests.Windows;

/// <summary>
/// What a window function's context carries (Flink's <c>ProcessWindowFunction.Context</c>): the window for every kind of
/// window, per-window state that lives as long as the window, and per-key global state across windows.
/// </summary>
public sealed class WindowProcessContextTests
{
    public static TheoryData<string> Kinds => ["tumbling", "sliding", "session", "global", "count"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void The_window_function_sees_the_window_it_fires_for_every_kind_of_window(string kind)
    {
        var h = new WindowHarness<GlobalWindowTests.Reading, (long Sum, TimeWindow Window)>(
            k => kind switch
            {
                "tumbling" => k.Window(Tumbling.Of(TimeSpan.FromMilliseconds(10))).Process(new SumWithWindow()),
                "sliding" => k.Window(Sliding.Of(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(5))).Process(new SumWithWindow()),
                "session" => k.Window(Session.WithGap(TimeSpan.FromMilliseconds(4))).Process(new SumWithWindow()),
                "global" => k.Window(GlobalWindows.CreateWithEndOfStreamTrigger()).Process(new SumWithWindow()),
                _ => k.CountWindow(2).Process(new SumWithWindow()),
            },
            r => r.Key);
        h.Element(new("a", 1), 3).Element(new("a", 2), 6).Watermark(long.MaxValue);
        var fired = h.Drain().Select(o => o.Value).ToList();
        (long, TimeWindow)[] expected = kind switch
        {
            "tumbling" => [(3, new TimeWindow(0, 10))],
            "sliding" => [(1, new TimeWindow(-5, 5)), (3, new TimeWindow(0, 10)), (2, new TimeWindow(5, 15))],
            "session" => [(3, new TimeWindow(3, 10))],
            _ => [(3, TimeWindow.Global)],
        };
        Assert.Equal(expected.OrderBy(e => e.Item2.Start), fired.OrderBy(f => f.Window.Start));
    }

    [Fact]
    public void Window_state_lives_across_a_windows_firings_and_goes_with_the_window_while_global_state_stays()
    {
        var h = new WindowHarness<GlobalWindowTests.Reading, Firing>(
            k => k.Window(Tumbling.Of(TimeSpan.FromMilliseconds(10))).AllowedLateness(TimeSpan.FromMilliseconds(20)).Process(new CountFirings()),
            r => r.Key);
        h.Element(new("a", 1), 2).Watermark(9);
        Assert.Equal([new Firing(0, 1, 1, WindowFiring.OnTime)], h.Drain().Select(o => o.Value));
        h.Restart().Element(new("a", 1), 4);
        Assert.Equal([new Firing(0, 2, 2, WindowFiring.Late)], h.Drain().Select(o => o.Value));
        var entriesBeforeCleanup = h.StateEntries;
        h.Watermark(29); // end - 1 + lateness: the window, its contents and its window state are cleaned up
        Assert.True(h.StateEntries < entriesBeforeCleanup);
        h.Element(new("a", 1), 35).Watermark(39);
        Assert.Equal([new Firing(30, 1, 3, WindowFiring.OnTime)], h.Drain().Select(o => o.Value));
        h.Watermark(1_000);
        Assert.Equal(1, h.StateEntries); // only the key's global firing count is left
    }

    [Fact]
    public void Window_state_is_refused_for_merging_windows_with_a_clear_error()
    {
        var h = new WindowHarness<GlobalWindowTests.Reading, Firing>(
            k => k.Window(Session.WithGap(TimeSpan.FromMilliseconds(5))).Process(new CountFirings()),
            r => r.Key);
        h.Element(new("a", 1), 2);
        var error = Assert.ThrowsAny<Exception>(() => h.Watermark(100));
        Assert.Contains("merging windows", error.ToString(), StringComparison.Ordinal);
    }

    internal readonly record struct Firing(long WindowStart, long WindowFirings, long KeyFirings, WindowFiring Kind);

    private sealed class SumWithWindow : IProcessWindowFunction<GlobalWindowTests.Reading, (long, TimeWindow), string>
    {
        public void Process(string key, WindowContext context, IReadOnlyList<GlobalWindowTests.Reading> elements, ICollector<(long, TimeWindow)> output) =>
            output.Collect((elements.Sum(e => e.Value), context.Window));
    }

    /// <summary>Counts firings per window (window state) and per key (global state).</summary>
    private sealed class CountFirings : IProcessWindowFunction<GlobalWindowTests.Reading, Firing, string>
    {
        private static readonly ValueStateDescriptor<long> Firings = new("firings");

        public void Process(string key, WindowContext context, IReadOnlyList<GlobalWindowTests.Reading> elements, ICollector<Firing> output)
        {
            var inWindow = context.WindowState.GetState(Firings);
            var forKey = context.GlobalState.GetState(Firings);
            inWindow.Update(inWindow.Value() + 1);
            forKey.Update(forKey.Value() + 1);
            output.Collect(new Firing(context.Window.Start, inWindow.Value(), forKey.Value(), context.Firing));
        }
    }
}
