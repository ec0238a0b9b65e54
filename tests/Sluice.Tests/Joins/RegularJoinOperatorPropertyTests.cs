using Sluice.Joins;
using Sluice.State;
using Sluice.Tests.Properties;
using Sluice.Tests.State;
using Xunit.Abstractions;

namespace Sluice.Tests.Joins;

/// <summary>
/// The regular (unbounded) join of one key group driven directly (no silo) against a brute-force oracle written here:
/// each arriving record joins what the other side keeps for its key (all records, or only the latest, chosen per side
/// at random) that has not expired under an event-time time-to-live, stamped with its own timestamp. Random
/// out-of-order input across a restore from a checkpoint (<see cref="JoinOperatorHarness"/>); nothing is late, and after
/// the final watermark every value has expired and been removed, and no timer is left.
/// </summary>
public sealed class RegularJoinOperatorPropertyTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Regular_join_output_equals_each_arrival_joined_with_the_other_sides_live_state(StateBackend backend)
    {
        foreach (var seed in PropertySeeds.For(40))
        {
            var rng = new Random(seed);
            var ttl = rng.NextInt64(1, 80);
            var left = rng.Next(2) == 0 ? JoinStateRetention.All : JoinStateRetention.Latest;
            var right = rng.Next(2) == 0 ? JoinStateRetention.All : JoinStateRetention.Latest;
            var keys = rng.Next(1, 6);
            var steps = JoinOperatorHarness.Generate(rng, keys, rng.Next(20, 250));
            var checkpointAt = rng.Next(steps.Count);
            var replayFrom = rng.Next(checkpointAt, steps.Count + 1);
            var context = $"seed {seed} (replay: SLUICE_PROPERTY_SEED={seed}): ttl {ttl} ms (event time), left {left}, right {right}, {keys} keys, "
                + $"{steps.Count} steps, checkpoint at {checkpointAt}, restore after {replayFrom}";
            var ttlConfig = StateTtlConfig.EventTime(TimeSpan.FromMilliseconds(ttl)) with { IncrementalCleanupSize = 1000 };

            var run = JoinOperatorHarness.Execute(
                backend, () => new RegularJoinFunction<string, Side, Side, Pair>((l, r) => new Pair(l.Key, l.Id, r.Id, 0), ttlConfig, left, right),
                steps, checkpointAt, replayFrom);

            var expected = Oracle(steps, ttl, left, right);
            Assert.True(expected.SequenceEqual(run.Output), $"{context}: {JoinOperatorHarness.Diff(expected, run.Output)}");
            Assert.Equal(0, run.Late);
            Assert.True(run.EntriesAfterEnd == 0, $"{context}: {run.EntriesAfterEnd} state entries left after the final watermark");
            Assert.True(run.TimersAfterEnd == 0, $"{context}: {run.TimersAfterEnd} timers left after the final watermark");
            output.WriteLine($"{context}: {expected.Count} pairs, {run.EntriesBeforeEnd} entries before the final watermark, {run.EntriesAfterEnd} after");
        }
    }

    /// <summary>
    /// The model of an event-time time-to-live: a value written by a record at ts (the watermark when that is higher) is
    /// visible while the watermark is below its write time + ttl; a kept side is every such value, or the latest written.
    /// </summary>
    private static List<string> Oracle(List<Step> steps, long ttl, JoinStateRetention leftRetention, JoinStateRetention rightRetention)
    {
        var watermark = long.MinValue;
        var lefts = new Dictionary<string, List<(Side Record, long Expires)>>();
        var rights = new Dictionary<string, List<(Side Record, long Expires)>>();
        var pairs = new List<string>();
        foreach (var step in steps)
        {
            if (step.Kind == StepKind.Watermark)
            {
                watermark = Math.Max(watermark, step.Time);
                continue;
            }

            var isLeft = step.Kind == StepKind.Left;
            var (ours, others, retention) = isLeft ? (lefts, rights, leftRetention) : (rights, lefts, rightRetention);
            var written = Math.Max(step.Record.Ts, watermark);
            if (!ours.TryGetValue(step.Record.Key, out var kept))
            {
                kept = [];
                ours[step.Record.Key] = kept;
            }

            if (retention == JoinStateRetention.Latest)
            {
                kept.Clear();
            }

            kept.Add((step.Record, written + ttl));
            if (others.TryGetValue(step.Record.Key, out var candidates))
            {
                foreach (var (other, expires) in candidates)
                {
                    if (watermark < expires)
                    {
                        var (l, r) = isLeft ? (step.Record, other) : (other, step.Record);
                        pairs.Add((new Pair(l.Key, l.Id, r.Id, 0), step.Record.Ts).ToString());
                    }
                }
            }
        }

        pairs.Sort(StringComparer.Ordinal);
        return pairs;
    }
}
