using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.Tests.Windows;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.Properties;

/// <summary>
/// Global windows with count and continuous event-time triggers (purging or not) and count, time and delta evictors
/// (before or after the function), count windows among them, against <see cref="GlobalWindowOracle"/> for many seeds:
/// random keys, out-of-order timestamps with many records behind the watermark (never late for a global window, so they
/// must be counted, never side-output), irregular watermarks, and restarts from a snapshot at random points. Checked per
/// input: what fired (key, sum, how many records the function saw) during which input. Seeds are printed;
/// <c>SLUICE_PROPERTY_SEED=&lt;seed&gt;</c> replays one.
/// </summary>
public sealed class GlobalWindowPropertyTests(ITestOutputHelper output)
{
    private const int Cases = 200;
    private static readonly OutputTag<GRec> Late = new("late");

    [Theory]
    [InlineData("count-window")]
    [InlineData("sliding-count-window")]
    [InlineData("count-trigger-with-evictor")]
    [InlineData("continuous-event-time")]
    public void Global_windows_with_triggers_and_evictors_match_the_oracle_input_by_input_across_restarts(string family)
    {
        var seeds = PropertySeeds.For(Cases);
        output.WriteLine($"seeds {seeds[0]}..{seeds[^1]} (replay one: SLUICE_PROPERTY_SEED=<seed>)");
        long firings = 0, behindWatermark = 0, restarts = 0;
        foreach (var seed in seeds)
        {
            var rng = new Random(seed);
            var spec = Spec(family, rng);
            var inputs = Generate(rng);
            var expected = GlobalWindowOracle.Run(inputs, spec, Delta);
            var h = new WindowHarness<GRec, GlobalFiring>(
                keyed => Window(keyed, spec).SideOutputLateData(Late).Process(new SumAndCount(), "global"),
                r => r.Key,
                Late);
            var actual = new List<(GlobalFiring, int)>();
            var watermark = long.MinValue;
            for (var i = 0; i < inputs.Count; i++)
            {
                if (rng.Next(6) == 0)
                {
                    h.Restart();
                    restarts++;
                }

                var input = inputs[i];
                if (input.IsWatermark)
                {
                    h.Watermark(input.Timestamp);
                    watermark = Math.Max(watermark, input.Timestamp);
                }
                else
                {
                    behindWatermark += input.Timestamp < watermark ? 1 : 0;
                    h.Element(new GRec(input.Key, input.Value), input.Timestamp);
                }

                foreach (var (value, timestamp) in h.Drain())
                {
                    Assert.True(timestamp == long.MaxValue, $"seed {seed}: {value} stamped {timestamp}");
                    actual.Add((value, i));
                }
            }

            var context = $"seed {seed}, {spec}, inputs: {string.Join(" ", inputs)}";
            WindowOracle.AssertSameMultiset(expected, actual, $"{context}: (firing, input)");
            Assert.True(h.LateOutput.Count == 0 && h.Counters.LateRecordsDropped == 0, $"{context}: a global window is never late");
            firings += expected.Count;
        }

        output.WriteLine($"{Cases} cases: {firings} firings, {behindWatermark} records behind the watermark, {restarts} restarts");
        Assert.True(firings > Cases && behindWatermark > 0, "the generator must make windows fire and put records behind the watermark");
    }

    private static double Delta(long older, long newer) => Math.Abs(newer - older);

    private static GlobalWindowSpec Spec(string family, Random rng)
    {
        string[] evictors = ["count", "time", "delta"];
        return family switch
        {
            "count-window" => new("count", rng.Next(1, 6), true, "none", 0, false),
            "sliding-count-window" => new("count", rng.Next(1, 4), false, "count", rng.Next(1, 7), false),
            "count-trigger-with-evictor" => new("count", rng.Next(1, 6), rng.Next(4) == 0, evictors[rng.Next(3)], rng.Next(1, 40), rng.Next(2) == 0),
            _ => new("continuous", rng.Next(5, 30), rng.Next(3) == 0, rng.Next(3) == 0 ? "none" : evictors[rng.Next(3)], rng.Next(1, 40), rng.Next(2) == 0),
        };
    }

    private static WindowedStream<GRec, string> Window(KeyedStream<GRec, string> keyed, GlobalWindowSpec spec)
    {
        if (spec is { Trigger: "count", Purging: true, Evictor: "none" })
        {
            return keyed.CountWindow(spec.TriggerParameter);
        }

        if (spec is { Trigger: "count", Purging: false, Evictor: "count", EvictAfter: false })
        {
            return keyed.CountWindow(spec.EvictorParameter, spec.TriggerParameter);
        }

        Trigger trigger = spec.Trigger == "count"
            ? CountTrigger.Of(spec.TriggerParameter)
            : ContinuousEventTimeTrigger.Of(TimeSpan.FromMilliseconds(spec.TriggerParameter));
        var windowed = keyed.Window(GlobalWindows.Create()).Trigger(spec.Purging ? PurgingTrigger.Of(trigger) : trigger);
        return spec.Evictor switch
        {
            "count" => windowed.Evictor(Evictor.Count<GRec>(spec.EvictorParameter, spec.EvictAfter)),
            "time" => windowed.Evictor(Evictor.Time<GRec>(TimeSpan.FromMilliseconds(spec.EvictorParameter), spec.EvictAfter)),
            "delta" => windowed.Evictor(Evictor.Delta<GRec>(spec.EvictorParameter, (a, b) => Delta(a.Value, b.Value), spec.EvictAfter)),
            _ => windowed,
        };
    }

    /// <summary>Records around a rising watermark: many behind it, negative timestamps too.</summary>
    private static List<GlobalInput> Generate(Random rng)
    {
        var inputs = new List<GlobalInput>();
        var watermark = (long)rng.Next(-60, 10);
        var count = rng.Next(5, 70);
        for (var i = 0; i < count; i++)
        {
            if (rng.Next(4) == 0)
            {
                watermark += rng.Next(0, 25);
                inputs.Add(GlobalInput.Watermark(watermark));
            }
            else
            {
                inputs.Add(GlobalInput.Record(((char)('a' + rng.Next(3))).ToString(), rng.Next(1, 60), watermark + rng.Next(-50, 20)));
            }
        }

        inputs.Add(GlobalInput.Watermark(watermark + 100));
        return inputs;
    }

    [GenerateSerializer, Immutable]
    public readonly record struct GRec([property: Id(0)] string Key, [property: Id(1)] long Value);

    private sealed class SumAndCount : IProcessWindowFunction<GRec, GlobalFiring, string>
    {
        public void Process(string key, WindowContext context, IReadOnlyList<GRec> elements, ICollector<GlobalFiring> output)
        {
            var sum = 0L;
            foreach (var e in elements)
            {
                sum += e.Value;
            }

            output.Collect(new GlobalFiring(key, sum, elements.Count));
        }
    }
}
