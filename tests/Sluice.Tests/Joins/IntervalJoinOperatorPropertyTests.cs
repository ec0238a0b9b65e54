using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Functions;
using Sluice.Joins;
using Sluice.Operators;
using Sluice.ProcessFunctions;
using Sluice.State;
using Sluice.Tasks;
using Sluice.Tests.Properties;
using Sluice.Tests.State;
using Xunit.Abstractions;

namespace Sluice.Tests.Joins;

/// <summary>
/// The interval join of one key group driven directly (no silo), on every state backend, against a brute-force oracle
/// written here: every pair of one key with <c>lower &lt;= r.ts - l.ts &lt;= upper</c> (bounds made exclusive at random)
/// where neither record arrived behind the watermark, stamped with the larger timestamp. Input is random and out of
/// order with records behind the watermark; in the middle the operator is checkpointed, runs on for a while, and is
/// replaced by one restored from the checkpoint that replays what came after it (what a restart does). After the final
/// watermark no buffer entry and no timer is left.
/// </summary>
public sealed class IntervalJoinOperatorPropertyTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Interval_join_output_equals_all_in_bound_pairs_minus_late_records_across_a_restore(StateBackend backend)
    {
        foreach (var seed in PropertySeeds.For(40))
        {
            RunCase(seed, backend);
        }
    }

    private void RunCase(int seed, StateBackend backend)
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
        var steps = Generate(rng, keys, rng.Next(20, 300));
        var checkpointAt = rng.Next(steps.Count);
        var replayFrom = rng.Next(checkpointAt, steps.Count + 1);
        var context = $"seed {seed} (replay: SLUICE_PROPERTY_SEED={seed}): Between({lower}, {upper}) lowerExclusive {lowerExclusive} "
            + $"upperExclusive {upperExclusive}, {keys} keys, {steps.Count} steps, checkpoint at {checkpointAt}, restore after {replayFrom}";

        var first = NewOperator(backend, lo, hi);
        for (var i = 0; i < checkpointAt; i++)
        {
            Apply(first, steps[i]);
        }

        var checkpoint = first.Op.Snapshot();
        var committed = first.Output.Records.ToList();
        var lateBefore = first.Counters.LateRecordsDropped;
        for (var i = checkpointAt; i < replayFrom; i++)
        {
            Apply(first, steps[i]); // work lost in the crash
        }

        var restored = NewOperator(backend, lo, hi);
        restored.Op.Restore(checkpoint);
        for (var i = checkpointAt; i < steps.Count; i++)
        {
            Apply(restored, steps[i]);
        }

        restored.Op.OnWatermark(long.MaxValue);
        var actual = committed.Concat(restored.Output.Records).Select(r => r.ToString()).Order(StringComparer.Ordinal).ToList();
        var (expected, late) = Oracle(steps, lo, hi);
        Assert.True(expected.SequenceEqual(actual), $"{context}: {Diff(expected, actual)}");
        Assert.Equal(late, lateBefore + restored.Counters.LateRecordsDropped);
        Assert.True(restored.Op.StateEntries == 0, $"{context}: {restored.Op.StateEntries} state entries left after the final watermark");
        Assert.True(restored.Op.EventTimerCount == 0, $"{context}: {restored.Op.EventTimerCount} timers left after the final watermark");
        output.WriteLine($"{context}: {expected.Count} pairs, {late} late");
    }

    /// <summary>
    /// Records of both sides around a clock that moves on, each up to 25 ms behind it, and now and then a watermark up
    /// to 30 ms behind the clock: records generated after a watermark may be behind it, and are late.
    /// </summary>
    private static List<Step> Generate(Random rng, int keys, int count)
    {
        var steps = new List<Step>(count);
        var clock = rng.NextInt64(-1000, 1000);
        for (var i = 0; i < count; i++)
        {
            clock += rng.Next(0, 6);
            if (rng.Next(6) == 0)
            {
                steps.Add(new Step(StepKind.Watermark, default, clock - rng.Next(0, 31)));
                continue;
            }

            var record = new Side($"k{rng.Next(keys)}", i, clock - rng.Next(0, 26));
            steps.Add(new Step(rng.Next(2) == 0 ? StepKind.Left : StepKind.Right, record, record.Ts));
        }

        return steps;
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

    private static void Apply(Harness h, Step step)
    {
        switch (step.Kind)
        {
            case StepKind.Left:
                h.Op.ProcessElement(step.Record.Key, step.Record, step.Record.Ts);
                break;
            case StepKind.Right:
                h.Op.ProcessElement2(step.Record.Key, step.Record, step.Record.Ts);
                break;
            default:
                h.Op.OnWatermark(step.Time);
                break;
        }
    }

    private static Harness NewOperator(StateBackend backend, long lo, long hi)
    {
        var output = new PairSink();
        var counters = new OperatorCounters();
        var function = new IntervalJoinFunction<string, Side, Side, Pair>(new PairJoin(), lo, hi, null, null);
        var op = new KeyedCoProcessOperator<Side, Side, string, Pair>(
            "interval-join", function, output,
            KeyedStateBackends.Create<string>(backend, 0, JoinSerializers.Provider, new StateTime(static () => 0)),
            JoinSerializers.Provider, counters, new UserErrorReporter(NullLogger.Instance, "test", () => 0, ErrorPolicy.Fail));
        return new Harness(op, output, counters);
    }

    private static string Diff(List<string> expected, List<string> actual) =>
        $"{expected.Count} expected, {actual.Count} actual; missing e.g. {string.Join(" ", expected.Except(actual).Take(5))}; "
        + $"unexpected e.g. {string.Join(" ", actual.Except(expected).Take(5))}";

    private enum StepKind
    {
        Left,
        Right,
        Watermark,
    }

    private readonly record struct Step(StepKind Kind, Side Record, long Time);

    private sealed record Harness(KeyedCoProcessOperator<Side, Side, string, Pair> Op, PairSink Output, OperatorCounters Counters);

    private sealed class PairJoin : IProcessJoinFunction<Side, Side, Pair>
    {
        public void ProcessElement(Side left, Side right, IProcessJoinContext context, ICollector<Pair> output) =>
            output.Collect(new Pair(left.Key, left.Id, right.Id, context.Timestamp));
    }

    private sealed class PairSink : IRecordSink<Pair>
    {
        public List<string> Records { get; } = [];

        public void Push(Pair value, long timestamp) => Records.Add((value, timestamp).ToString());
    }
}
