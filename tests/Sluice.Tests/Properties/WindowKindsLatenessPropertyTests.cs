using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.Tests.Windows;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.Properties;

/// <summary>
/// Tumbling, sliding and session windows with allowed lateness and a late-data side output against
/// <see cref="LatenessOracle"/>, many seeds: random keys, out-of-order timestamps with records behind the watermark (some
/// within the lateness, some beyond), irregular watermarks, and restarts from a snapshot at random points. Checked
/// exactly per input: which windows fired (window, sum, on-time or late update) during which input, and which records
/// went to the side output when. Seeds are random per run and printed; <c>SLUICE_PROPERTY_SEED=&lt;seed&gt;</c> replays one.
/// </summary>
public sealed class WindowKindsLatenessPropertyTests(ITestOutputHelper output)
{
    private const int Cases = 150;
    private static readonly OutputTag<Rec> Late = new("late");

    [Theory]
    [InlineData("tumbling")]
    [InlineData("sliding")]
    [InlineData("session")]
    public void Windows_with_lateness_match_the_oracle_input_by_input_across_restarts(string kind)
    {
        var seeds = PropertySeeds.For(Cases);
        output.WriteLine($"seeds {seeds[0]}..{seeds[^1]} (replay one: SLUICE_PROPERTY_SEED=<seed>)");
        long fired = 0, lateUpdates = 0, sideOutput = 0, restarts = 0;
        foreach (var seed in seeds)
        {
            var rng = new Random(seed);
            var spec = kind switch
            {
                "tumbling" => WindowKindSpec.Tumbling(rng.Next(3, 20), rng.Next(3) == 0 ? 0 : rng.Next(1, 25)),
                "sliding" => SlidingSpec(rng),
                _ => WindowKindSpec.Session(rng.Next(1, 15), rng.Next(3) == 0 ? 0 : rng.Next(1, 25)),
            };
            var inputs = Generate(rng);
            var (expectedFired, expectedLate) = LatenessOracle.Run(inputs, spec);
            var h = new WindowHarness<Rec, OracleFiring>(
                keyed => keyed.Window(Assigner(spec)).AllowedLateness(TimeSpan.FromMilliseconds(spec.Lateness)).SideOutputLateData(Late)
                    .Aggregate(Aggregates.Sum<Rec>(r => r.Value), new ToFiring(), "w"),
                r => r.Key,
                Late);
            var actualFired = new List<(OracleFiring, int)>();
            var actualLate = new List<(LatenessInput, int)>();
            for (var i = 0; i < inputs.Count; i++)
            {
                if (rng.Next(8) == 0)
                {
                    h.Restart();
                    restarts++;
                }

                var input = inputs[i];
                if (input.IsWatermark)
                {
                    h.Watermark(input.Timestamp);
                }
                else
                {
                    h.Element(new Rec(input.Key, input.Value), input.Timestamp);
                }

                foreach (var (value, timestamp) in h.Drain())
                {
                    Assert.True(timestamp == value.End - 1, $"seed {seed}: {value} stamped {timestamp}");
                    actualFired.Add((value, i));
                }

                foreach (var (value, timestamp) in h.LateOutput)
                {
                    actualLate.Add((LatenessInput.Record(value.Key, value.Value, timestamp), i));
                }

                h.LateOutput.Clear();
            }

            var context = $"seed {seed}, {spec}, inputs: {string.Join(" ", inputs)}";
            WindowOracle.AssertSameMultiset(expectedFired, actualFired, $"{context}: (firing, input)");
            WindowOracle.AssertSameMultiset(expectedLate, actualLate, $"{context}: (late record, input)");
            Assert.True(h.Counters.LateRecordsSideOutput == expectedLate.Count, context);
            fired += expectedFired.Count;
            lateUpdates += expectedFired.Count(f => f.Firing.Late);
            sideOutput += expectedLate.Count;
        }

        output.WriteLine($"{Cases} cases: {fired} firings ({lateUpdates} late updates), {sideOutput} records to the side output, {restarts} restarts");
        Assert.True(lateUpdates > 0 && sideOutput > 0, "the generator must produce late updates and records beyond the lateness");
    }

    private static WindowKindSpec SlidingSpec(Random rng)
    {
        var slide = rng.Next(2, 8);
        return WindowKindSpec.Sliding(slide * rng.Next(1, 4), slide, rng.Next(3) == 0 ? 0 : rng.Next(1, 25));
    }

    private static WindowAssigner Assigner(WindowKindSpec spec) => spec.Kind switch
    {
        "tumbling" => Tumbling.Of(TimeSpan.FromMilliseconds(spec.Size)),
        "sliding" => Sliding.Of(TimeSpan.FromMilliseconds(spec.Size), TimeSpan.FromMilliseconds(spec.Slide)),
        _ => Session.WithGap(TimeSpan.FromMilliseconds(spec.Gap)),
    };

    /// <summary>Records around a rising watermark: most near it, some behind it by up to 40 ms, with negative timestamps too.</summary>
    private static List<LatenessInput> Generate(Random rng)
    {
        var inputs = new List<LatenessInput>();
        var watermark = (long)rng.Next(-30, 10);
        var count = rng.Next(5, 60);
        for (var i = 0; i < count; i++)
        {
            if (rng.Next(4) == 0)
            {
                watermark += rng.Next(0, 15);
                inputs.Add(LatenessInput.Watermark(watermark));
            }
            else
            {
                var ts = watermark + rng.Next(-40, 20);
                inputs.Add(LatenessInput.Record(((char)('a' + rng.Next(3))).ToString(), rng.Next(1, 100), ts));
            }
        }

        inputs.Add(LatenessInput.Watermark(watermark + 200));
        return inputs;
    }

    internal readonly record struct Rec(string Key, long Value);

    private sealed class ToFiring : IProcessWindowFunction<long, OracleFiring, string>
    {
        public void Process(string key, WindowContext context, IReadOnlyList<long> elements, ICollector<OracleFiring> output) =>
            output.Collect(new OracleFiring(key, context.Window.Start, context.Window.End, elements[0], context.Firing == WindowFiring.Late));
    }
}
