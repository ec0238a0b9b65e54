using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.Windows;

namespace Sluice.Tests.Windows;

/// <summary>
/// Cases of Apache Flink's own <c>WindowOperatorTest</c> (flink-streaming-java,
/// org.apache.flink.streaming.runtime.operators.windowing), replayed as data with explicit watermarks: the same
/// records in the same order, the same watermarks and snapshot/restore points, and after each checkpoint of the Flink
/// test the same newly emitted results (key, sum, window, timestamp; compared sorted, as Flink's
/// <c>assertOutputEqualsSorted</c> does) and the same late side output. Each case names the Flink test it comes from.
/// Flink's inputs are <c>(key, 1)</c>-style tuples summed by a reducer; here the same tuples are summed by the window.
/// </summary>
public sealed partial class FlinkWindowOperatorConformanceTests
{
    private static readonly OutputTag<Click> LateTag = new("late");

    public static TheoryData<string> Cases => [.. TimeWindowCases.Keys, .. GlobalAndEvictingCases.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Replays_flink_window_operator_test(string flinkTest)
    {
        var c = TimeWindowCases.TryGetValue(flinkTest, out var timeCase) ? timeCase : GlobalAndEvictingCases[flinkTest];
        var h = new WindowHarness<Click, Out>(
            keyed =>
            {
                var windowed = keyed.Window(c.Assigner()).AllowedLateness(TimeSpan.FromMilliseconds(c.Lateness)).SideOutputLateData(LateTag);
                if (c.Trigger is { } trigger)
                {
                    windowed = windowed.Trigger(trigger());
                }
                else if (c.Purging)
                {
                    windowed = windowed.Trigger(PurgingTrigger.Of(EventTimeTrigger.Instance));
                }

                if (c.Evictor is { } evictor)
                {
                    windowed = windowed.Evictor(evictor());
                }

                return windowed.Aggregate(Aggregates.Sum<Click>(x => x.Value), new ToOut(), "flink");
            },
            x => x.Key,
            LateTag);
        var step = 0;
        foreach (var s in c.Steps)
        {
            step++;
            switch (s)
            {
                case Element e:
                    h.Element(new Click(e.Key, e.Value), e.Timestamp);
                    break;
                case Watermark w:
                    h.Watermark(w.Value);
                    break;
                case Restore:
                    h.Restart();
                    break;
                case Emitted expected:
                    var actual = h.Drain().Select(o => o.Value with { Timestamp = o.Timestamp }).Order().ToList();
                    Assert.True(expected.Outputs.Order().SequenceEqual(actual), $"{flinkTest}, step {step}: expected [{string.Join(", ", expected.Outputs.Order())}], got [{string.Join(", ", actual)}]");
                    break;
            }
        }

        Assert.Empty(h.Drain());
        if (c.SideOutput is { } side)
        {
            Assert.Equal(side.Order(), h.LateOutput.Select(l => new Element(l.Value.Key, l.Value.Value, l.Timestamp)).Order());
        }
    }

    private static readonly long[] FlinkOutOfOrder = [3999, 3000, 20, 0, 999, 1998, 1999, 1000];

    private static readonly Dictionary<string, FlinkCase> TimeWindowCases = new()
    {
        ["testTumblingEventTimeWindowsReduce"] = new(() => Tumbling.Of(S(3)), 0, false,
        [
            .. OutOfOrderElements(),
            new Watermark(999), None(), new Watermark(1999), None(),
            new Restore(),
            new Watermark(2999), Emit(new Out("key1", 3, 0, 3000, 2999), new Out("key2", 3, 0, 3000, 2999)),
            new Watermark(3999), None(), new Watermark(4999), None(),
            new Watermark(5999), Emit(new Out("key2", 2, 3000, 6000, 5999)),
            new Watermark(6999), new Watermark(7999), None(),
        ]),
        ["testSlidingEventTimeWindowsReduce"] = new(() => Sliding.Of(S(3), S(1)), 0, false,
        [
            .. OutOfOrderElements(),
            new Watermark(999), Emit(new Out("key1", 3, -2000, 1000, 999)),
            new Watermark(1999), Emit(new Out("key1", 3, -1000, 2000, 1999), new Out("key2", 3, -1000, 2000, 1999)),
            new Watermark(2999), Emit(new Out("key1", 3, 0, 3000, 2999), new Out("key2", 3, 0, 3000, 2999)),
            new Restore(),
            new Watermark(3999), Emit(new Out("key2", 5, 1000, 4000, 3999)),
            new Watermark(4999), Emit(new Out("key2", 2, 2000, 5000, 4999)),
            new Watermark(5999), Emit(new Out("key2", 2, 3000, 6000, 5999)),
            new Watermark(6999), new Watermark(7999), None(),
        ]),
        ["testReduceSessionWindows"] = new(() => Session.WithGap(S(3)), 0, false,
        [
            new Element("key2", 1, 0), new Element("key2", 2, 1000), new Element("key2", 3, 2500),
            new Restore(),
            new Element("key1", 1, 10), new Element("key1", 2, 1000), new Element("key1", 3, 2500),
            new Element("key2", 4, 5501), new Element("key2", 5, 6000), new Element("key2", 5, 6000), new Element("key2", 6, 6050),
            new Watermark(12000),
            Emit(new Out("key1", 6, 10, 5500, 5499), new Out("key2", 6, 0, 5500, 5499), new Out("key2", 20, 5501, 9050, 9049)),
            new Element("key2", 10, 15000), new Element("key2", 20, 15000),
            new Watermark(17999), Emit(new Out("key2", 30, 15000, 18000, 17999)),
        ]),
        ["testSideOutputDueToLatenessSliding"] = new(() => Sliding.Of(S(3), S(1)), 0, false,
        [
            new Element("key2", 1, 1000), new Watermark(1999), Emit(new Out("key2", 1, -1000, 2000, 1999)),
            new Element("key2", 1, 2000), new Watermark(3000), Emit(new Out("key2", 2, 0, 3000, 2999)),
            new Element("key1", 1, 3001), new Element("key2", 1, 2400), new Element("key2", 1, 2400), new Element("key1", 1, 3001), new Element("key2", 1, 3900),
            new Watermark(6000),
            Emit(
                new Out("key2", 5, 1000, 4000, 3999), new Out("key1", 2, 1000, 4000, 3999),
                new Out("key2", 4, 2000, 5000, 4999), new Out("key1", 2, 2000, 5000, 4999),
                new Out("key2", 1, 3000, 6000, 5999), new Out("key1", 2, 3000, 6000, 5999)),
            new Element("key1", 1, 3001),
            new Watermark(25000), None(),
        ], SideOutput: [new Element("key1", 1, 3001)]),
        ["testSideOutputDueToLatenessSessionZeroLatenessPurgingTrigger"] = new(() => Session.WithGap(S(3)), 0, true,
        [
            .. SessionLatenessPrefix(),
            new Element("key2", 1, 10000), new Element("key2", 1, 10100), None(),
            new Element("key2", 1, 14500), new Watermark(20000), Emit(new Out("key2", 1, 14500, 17500, 17499)),
            new Watermark(100000), None(),
        ], SideOutput: [new Element("key2", 1, 10000), new Element("key2", 1, 10100)]),
        ["testSideOutputDueToLatenessSessionZeroLateness"] = new(() => Session.WithGap(S(3)), 0, false,
        [
            .. SessionLatenessPrefix(),
            new Element("key2", 1, 10000), None(),
            new Element("key2", 1, 14500), new Watermark(20000), Emit(new Out("key2", 1, 14500, 17500, 17499)),
            new Watermark(100000), None(),
        ], SideOutput: [new Element("key2", 1, 10000)]),
        ["testDropDueToLatenessSessionWithLatenessPurgingTrigger"] = new(() => Session.WithGap(S(3)), 10, true,
        [
            .. SessionLatenessPrefix(),
            new Element("key2", 1, 10000), Emit(new Out("key2", 1, 10000, 14600, 14599)),
            new Element("key2", 1, 14500), new Watermark(20000), Emit(new Out("key2", 1, 10000, 17500, 17499)),
            new Watermark(100000), None(),
        ]),
        ["testNotSideOutputDueToLatenessSessionWithLateness"] = new(() => Session.WithGap(S(3)), 10, false,
        [
            .. SessionLatenessPrefix(),
            new Element("key2", 1, 10000), new Element("key2", 1, 14500), Emit(new Out("key2", 2, 10000, 14600, 14599)),
            new Watermark(20000), Emit(new Out("key2", 3, 10000, 17500, 17499)),
            new Watermark(100000), None(),
        ], SideOutput: []),
        ["testNotSideOutputDueToLatenessSessionWithHugeLatenessPurgingTrigger"] = new(() => Session.WithGap(S(3)), 10000, true,
        [
            .. SessionLatenessPrefix(),
            new Element("key2", 1, 10000), Emit(new Out("key2", 1, 1000, 14600, 14599)),
            new Element("key2", 1, 14500), new Watermark(20000), Emit(new Out("key2", 1, 1000, 17500, 17499)),
            new Watermark(100000), None(),
        ], SideOutput: []),
    };

    /// <summary>The records Flink's testTumbling/SlidingEventTimeWindows add out of order: key2 at 3999 and 3000, key1 at 20, 0, 999, key2 at 1998, 1999, 1000.</summary>
    private static IEnumerable<Step> OutOfOrderElements()
    {
        for (var i = 0; i < FlinkOutOfOrder.Length; i++)
        {
            yield return new Element(i is >= 2 and <= 4 ? "key1" : "key2", 1, FlinkOutOfOrder[i]);
        }
    }

    /// <summary>The common start of Flink's session lateness tests (gap 3 s): two sessions merge into [1000, 11500), then [11600, 14600).</summary>
    private static IEnumerable<Step> SessionLatenessPrefix() =>
    [
        new Element("key2", 1, 1000), new Watermark(1999), None(),
        new Element("key2", 1, 2000), new Watermark(4998), None(),
        new Element("key2", 1, 4500), // not late: the session it joins ends after the watermark
        new Element("key2", 1, 8500), new Watermark(7400), None(),
        new Element("key2", 1, 7000), // merges the two sessions
        new Watermark(11501), Emit(new Out("key2", 5, 1000, 11500, 11499)),
        new Element("key2", 1, 11600), new Watermark(14600), Emit(new Out("key2", 1, 11600, 14600, 14599)),
    ];

    private static TimeSpan S(int seconds) => TimeSpan.FromSeconds(seconds);

    private static Emitted None() => new([]);

    private static Emitted Emit(params Out[] outputs) => new(outputs);

    internal readonly record struct Click(string Key, long Value);

    /// <summary>One result: Flink's tuple (key, sum) or session tuple ("key-sum", start, end), with the window and the record timestamp.</summary>
    internal readonly record struct Out(string Key, long Sum, long Start, long End, long Timestamp) : IComparable<Out>
    {
        public int CompareTo(Out other) => (Key, Timestamp, Start, Sum).CompareTo((other.Key, other.Timestamp, other.Start, other.Sum));

        public override string ToString() => $"({Key}-{Sum} [{Start}, {End}) @{Timestamp})";
    }

    private abstract record Step;

    private sealed record Element(string Key, long Value, long Timestamp) : Step, IComparable<Element>
    {
        public int CompareTo(Element? other) => (Key, Timestamp, Value).CompareTo((other!.Key, other.Timestamp, other.Value));
    }

    private sealed record Watermark(long Value) : Step;

    /// <summary>Flink's snapshot, close and restore of the harness.</summary>
    private sealed record Restore : Step;

    /// <summary>What Flink's test asserts was emitted since the previous assertion.</summary>
    private sealed record Emitted(Out[] Outputs) : Step;

    private sealed record FlinkCase(Func<WindowAssigner> Assigner, long Lateness, bool Purging, Step[] Steps, Element[]? SideOutput = null)
    {
        /// <summary>The Flink test's trigger when it is not (purging) event time.</summary>
        public Func<Trigger>? Trigger { get; init; }

        /// <summary>The Flink test's evictor (EvictingWindowOperatorTest).</summary>
        public Func<IEvictor<Click>>? Evictor { get; init; }
    }

    private sealed class ToOut : IProcessWindowFunction<long, Out, string>
    {
        public void Process(string key, WindowContext context, IReadOnlyList<long> elements, ICollector<Out> output) =>
            output.Collect(new Out(key, elements[0], context.Window.Start, context.Window.End, 0));
    }
}
