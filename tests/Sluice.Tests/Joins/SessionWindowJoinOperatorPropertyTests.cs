using Sluice.Joins;
using Sluice.State;
using Sluice.Tests.Properties;
using Sluice.Tests.State;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.Joins;

/// <summary>
/// The session window join of one key group driven directly (no silo), random gaps, on every state backend, against a
/// brute-force model written here: the records of both sides of a key form sessions together (a record's
/// <c>[t, t + gap)</c> joins every in-flight session it overlaps or touches), a record whose window is behind the
/// watermark and joins no in-flight session is late, and a session fires the cross product of its left and right records
/// once the watermark passes its last millisecond. Random out-of-order input with records behind the watermark, across a
/// restore from a checkpoint (<see cref="JoinOperatorHarness"/>); no state and no timer is left after the final watermark.
/// </summary>
public sealed class SessionWindowJoinOperatorPropertyTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Session_window_join_output_equals_the_cross_product_per_key_and_session(StateBackend backend)
    {
        long pairs = 0, late = 0;
        foreach (var seed in PropertySeeds.For(60))
        {
            var rng = new Random(seed);
            var gap = rng.NextInt64(1, 25);
            var keys = rng.Next(1, 6);
            var steps = JoinOperatorHarness.Generate(rng, keys, rng.Next(20, 250));
            var checkpointAt = rng.Next(steps.Count);
            var replayFrom = rng.Next(checkpointAt, steps.Count + 1);
            var context = $"seed {seed} (replay: SLUICE_PROPERTY_SEED={seed}): gap {gap}, {keys} keys, {steps.Count} steps, "
                + $"checkpoint at {checkpointAt}, restore after {replayFrom}";

            var run = JoinOperatorHarness.Execute(
                backend,
                () => new SessionWindowJoinFunction<string, Side, Side, Pair>(Session.WithGap(TimeSpan.FromMilliseconds(gap)), (l, r) => new Pair(l.Key, l.Id, r.Id, Math.Max(l.Ts, r.Ts))),
                steps, checkpointAt, replayFrom);

            var (expected, expectedLate) = Oracle(steps, gap);
            Assert.True(expected.SequenceEqual(run.Output), $"{context}: {JoinOperatorHarness.Diff(expected, run.Output)}");
            Assert.True(expectedLate == run.Late, $"{context}: {expectedLate} late expected, {run.Late} counted");
            Assert.True(run.EntriesAfterEnd == 0, $"{context}: {run.EntriesAfterEnd} state entries left after the final watermark");
            Assert.True(run.TimersAfterEnd == 0, $"{context}: {run.TimersAfterEnd} timers left after the final watermark");
            pairs += expected.Count;
            late += expectedLate;
        }

        output.WriteLine($"{pairs} pairs, {late} late records");
        Assert.True(pairs > 0 && late > 0, "the generator must produce joined pairs and late records");
    }

    [Fact]
    public void A_session_join_refuses_sessions_with_a_per_record_gap()
    {
        var pipeline = Pipeline.Create("session-join-refusal");
        var left = pipeline.From(new Sluice.Sources.InMemorySource<Side>("l", 1));
        var right = pipeline.From(new Sluice.Sources.InMemorySource<Side>("r", 1));
        var error = Assert.Throws<ArgumentException>(() =>
            left.Join(right).Where(s => s.Key).EqualTo(s => s.Key).Window(Session.WithDynamicGap<Side>(_ => TimeSpan.FromSeconds(1))));
        Assert.Contains("static gap", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Sessions per key as plain lists, merged, fired and retired as the steps arrive; the final watermark fires the rest.</summary>
    private static (List<string> Pairs, long Late) Oracle(List<Step> steps, long gap)
    {
        var watermark = long.MinValue;
        var sessions = new Dictionary<string, List<(long Start, long End, List<Side> Left, List<Side> Right)>>();
        var pairs = new List<string>();
        long late = 0;
        foreach (var step in steps)
        {
            if (step.Kind == StepKind.Watermark)
            {
                watermark = Math.Max(watermark, step.Time);
                Fire(watermark);
                continue;
            }

            var key = step.Record.Key;
            if (!sessions.TryGetValue(key, out var open))
            {
                sessions[key] = open = [];
            }

            var (start, end) = (step.Record.Ts, step.Record.Ts + gap);
            var touching = new List<(long Start, long End, List<Side> Left, List<Side> Right)>();
            var found = true;
            while (found)
            {
                found = false;
                foreach (var s in open)
                {
                    if (!touching.Contains(s) && s.Start <= end && s.End >= start)
                    {
                        touching.Add(s);
                        (start, end) = (Math.Min(start, s.Start), Math.Max(end, s.End));
                        found = true;
                    }
                }
            }

            if (touching.Count == 0 && end - 1 <= watermark)
            {
                late++;
                continue;
            }

            var merged = (start, end, touching.SelectMany(s => s.Left).ToList(), touching.SelectMany(s => s.Right).ToList());
            (step.Kind == StepKind.Left ? merged.Item3 : merged.Item4).Add(step.Record);
            open.RemoveAll(touching.Contains);
            open.Add(merged);
        }

        Fire(long.MaxValue);
        pairs.Sort(StringComparer.Ordinal);
        return (pairs, late);

        void Fire(long upTo)
        {
            foreach (var (key, open) in sessions)
            {
                foreach (var s in open.Where(s => s.End - 1 <= upTo).ToList())
                {
                    foreach (var l in s.Left)
                    {
                        foreach (var r in s.Right)
                        {
                            pairs.Add((new Pair(key, l.Id, r.Id, Math.Max(l.Ts, r.Ts)), s.End - 1).ToString());
                        }
                    }

                    open.Remove(s);
                }
            }
        }
    }
}
