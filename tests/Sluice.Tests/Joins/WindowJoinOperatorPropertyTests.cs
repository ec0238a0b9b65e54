using Sluice.Joins;
using Sluice.State;
using Sluice.Tests.Properties;
using Sluice.Tests.State;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.Joins;

/// <summary>
/// The window join of one key group driven directly (no silo), with tumbling and sliding windows of random size, slide
/// and offset, on every state backend, against a brute-force oracle written here: per key and window, the cross product
/// of the left and right records that reached the window before the watermark passed its end, stamped with the
/// window's last millisecond. Random out-of-order input with records behind the watermark, across a restore from a
/// checkpoint (<see cref="JoinOperatorHarness"/>); no state and no timer is left after the final watermark.
/// </summary>
public sealed class WindowJoinOperatorPropertyTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Tumbling_window_join_output_equals_the_cross_product_per_key_and_window(StateBackend backend) => Run(backend, sliding: false);

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Sliding_window_join_output_equals_the_cross_product_per_key_and_window(StateBackend backend) => Run(backend, sliding: true);

    private void Run(StateBackend backend, bool sliding)
    {
        foreach (var seed in PropertySeeds.For(30))
        {
            var rng = new Random(seed);
            var size = rng.NextInt64(1, 60);
            var slide = sliding ? rng.NextInt64(1, size + 1) : size;
            var offset = rng.NextInt64(0, slide);
            WindowAssigner assigner = sliding
                ? Sliding.Of(TimeSpan.FromMilliseconds(size), TimeSpan.FromMilliseconds(slide), TimeSpan.FromMilliseconds(offset))
                : Tumbling.Of(TimeSpan.FromMilliseconds(size), TimeSpan.FromMilliseconds(offset));
            var keys = rng.Next(1, 6);
            var steps = JoinOperatorHarness.Generate(rng, keys, rng.Next(20, 250));
            var checkpointAt = rng.Next(steps.Count);
            var replayFrom = rng.Next(checkpointAt, steps.Count + 1);
            var context = $"seed {seed} (replay: SLUICE_PROPERTY_SEED={seed}): size {size}, slide {slide}, offset {offset}, {keys} keys, "
                + $"{steps.Count} steps, checkpoint at {checkpointAt}, restore after {replayFrom}";

            var run = JoinOperatorHarness.Execute(
                backend, () => new WindowJoinFunction<string, Side, Side, Pair>(assigner, (l, r) => new Pair(l.Key, l.Id, r.Id, Math.Max(l.Ts, r.Ts))),
                steps, checkpointAt, replayFrom);

            var (expected, late) = Oracle(steps, size, slide, offset);
            Assert.True(expected.SequenceEqual(run.Output), $"{context}: {JoinOperatorHarness.Diff(expected, run.Output)}");
            Assert.Equal(late, run.Late);
            Assert.True(run.EntriesAfterEnd == 0, $"{context}: {run.EntriesAfterEnd} state entries left after the final watermark");
            Assert.True(run.TimersAfterEnd == 0, $"{context}: {run.TimersAfterEnd} timers left after the final watermark");
            output.WriteLine($"{context}: {expected.Count} pairs, {late} late");
        }
    }

    /// <summary>
    /// The model: a window is [start, start + size) with start = offset + n * slide; a record reaches each of its windows
    /// whose last millisecond is after the watermark at its arrival (late when it reaches none); then per key and window,
    /// every left record with every right one.
    /// </summary>
    private static (List<string> Pairs, long Late) Oracle(List<Step> steps, long size, long slide, long offset)
    {
        var watermark = long.MinValue;
        var contents = new Dictionary<(string Key, long Start), (List<Side> Left, List<Side> Right)>();
        long late = 0;
        foreach (var step in steps)
        {
            if (step.Kind == StepKind.Watermark)
            {
                watermark = Math.Max(watermark, step.Time);
                continue;
            }

            var ts = step.Record.Ts;
            var reached = false;
            // Every start s = offset + n * slide with s <= ts < s + size, found by walking down from the largest.
            var start = offset + (long)Math.Floor((ts - offset) / (double)slide) * slide;
            for (var s = start; s > ts - size; s -= slide)
            {
                if (s + size - 1 <= watermark)
                {
                    continue;
                }

                reached = true;
                if (!contents.TryGetValue((step.Record.Key, s), out var window))
                {
                    window = ([], []);
                    contents[(step.Record.Key, s)] = window;
                }

                (step.Kind == StepKind.Left ? window.Left : window.Right).Add(step.Record);
            }

            late += reached ? 0 : 1;
        }

        var pairs = new List<string>();
        foreach (var ((key, s), (lefts, rights)) in contents)
        {
            foreach (var l in lefts)
            {
                foreach (var r in rights)
                {
                    pairs.Add((new Pair(key, l.Id, r.Id, Math.Max(l.Ts, r.Ts)), s + size - 1).ToString());
                }
            }
        }

        pairs.Sort(StringComparer.Ordinal);
        return (pairs, late);
    }
}
