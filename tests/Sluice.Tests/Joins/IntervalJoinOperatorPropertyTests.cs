using Sluice.Functions;
using Sluice.Joins;
using Sluice.State;
using Sluice.Tests.Properties;
using Sluice.Tests.State;
using Xunit.Abstractions;

namespace Sluice.Tests.Joins;

/// <summary>
/// The interval join of one key group driven directly (no silo), on every state backend, against a brute-force oracle
/// written here: every pair of one key with <c>lower &lt;= r.ts - l.ts &lt;= upper</c> (bounds made exclusive at random)
/// where neither record arrived behind the watermark, stamped with the larger timestamp. Input is random and out of
/// order with records behind the watermark, across a restore from a checkpoint (<see cref="JoinOperatorHarness"/>).
/// After the final watermark no buffer entry and no timer is left.
/// </summary>
public sealed class IntervalJoinOperatorPropertyTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Interval_join_output_equals_all_in_bound_pairs_minus_late_records_across_a_restore(StateBackend backend)
    {
        foreach (var seed in PropertySeeds.For(40))
        {
            var rng = new Random(seed);
            var lower = rng.NextInt64(-30, 31);
            var upper = lower + rng.NextInt64(0, 41);
            var lowerExclusive = rng.Next(3) == 0;
            var upperExclusive = rng.Next(3) == 0;
            var (lo, hi) = (lowerExclusive ? lower + 1 : lower, upperExclusive ? upper - 1 : upper);
            if (lo > hi)
            {
                (lowerExclusive, upperExclusive, lo, hi) = (false, false, lower, upper);
            }

            var keys = rng.Next(1, 6);
            var steps = JoinOperatorHarness.Generate(rng, keys, rng.Next(20, 300));
            var checkpointAt = rng.Next(steps.Count);
            var replayFrom = rng.Next(checkpointAt, steps.Count + 1);
            var context = $"seed {seed} (replay: SLUICE_PROPERTY_SEED={seed}): Between({lower}, {upper}) lowerExclusive {lowerExclusive} "
                + $"upperExclusive {upperExclusive}, {keys} keys, {steps.Count} steps, checkpoint at {checkpointAt}, restore after {replayFrom}";

            var run = JoinOperatorHarness.Execute(
                backend, () => new IntervalJoinFunction<string, Side, Side, Pair>(new PairJoin(), lo, hi, null, null), steps, checkpointAt, replayFrom);

            var (expected, late) = Oracle(steps, lo, hi);
            Assert.True(expected.SequenceEqual(run.Output), $"{context}: {JoinOperatorHarness.Diff(expected, run.Output)}");
            Assert.Equal(late, run.Late);
            Assert.True(run.EntriesAfterEnd == 0, $"{context}: {run.EntriesAfterEnd} state entries left after the final watermark");
            Assert.True(run.TimersAfterEnd == 0, $"{context}: {run.TimersAfterEnd} timers left after the final watermark");
            output.WriteLine($"{context}: {expected.Count} pairs, {late} late, {run.EntriesBeforeEnd} entries before the final watermark");
        }
    }

    /// <summary>The model: lateness from the watermarks seen so far, then every in-bound pair of one key among the on-time records.</summary>
    private static (List<string> Pairs, long Late) Oracle(List<Step> steps, long lo, long hi)
    {
        var watermark = long.MinValue;
        var lefts = new List<Side>();
        var rights = new List<Side>();
        long late = 0;
        foreach (var step in steps)
        {
            if (step.Kind == StepKind.Watermark)
            {
                watermark = Math.Max(watermark, step.Time);
            }
            else if (step.Record.Ts < watermark)
            {
                late++;
            }
            else
            {
                (step.Kind == StepKind.Left ? lefts : rights).Add(step.Record);
            }
        }

        var pairs = new List<string>();
        foreach (var l in lefts)
        {
            foreach (var r in rights)
            {
                if (l.Key == r.Key && r.Ts - l.Ts >= lo && r.Ts - l.Ts <= hi)
                {
                    var pair = new Pair(l.Key, l.Id, r.Id, Math.Max(l.Ts, r.Ts));
                    pairs.Add((pair, pair.Ts).ToString());
                }
            }
        }

        pairs.Sort(StringComparer.Ordinal);
        return (pairs, late);
    }

    private sealed class PairJoin : IProcessJoinFunction<Side, Side, Pair>
    {
        public void ProcessElement(Side left, Side right, IProcessJoinContext context, ICollector<Pair> output) =>
            output.Collect(new Pair(left.Key, left.Id, right.Id, context.Timestamp));
    }
}
