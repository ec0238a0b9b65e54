using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Functions;
using Sluice.Operators;
using Sluice.ProcessFunctions;
using Sluice.State;
using Sluice.Tasks;

namespace Sluice.Tests.Joins;

internal enum StepKind
{
    Left,
    Right,
    Watermark,
}

/// <summary>One input event of a join operator run: a record of either side, or a watermark.</summary>
internal readonly record struct Step(StepKind Kind, Side Record, long Time);

/// <summary>
/// Drives a join (as the co-process function it runs as) in one key group without a silo: random out-of-order steps
/// with records behind the watermark, a checkpoint in the middle, work after it that a crash loses, and a restored
/// operator replaying from the checkpoint, then the final watermark. What the test compares is the output committed
/// before the checkpoint plus the restored operator's.
/// </summary>
internal static class JoinOperatorHarness
{
    /// <summary>
    /// Records of both sides around a clock that moves on, each up to 25 ms behind it, and now and then a watermark up
    /// to 30 ms behind the clock: records generated after a watermark may be behind it, and are late.
    /// </summary>
    public static List<Step> Generate(Random rng, int keys, int count)
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

    public static Run Execute(StateBackend backend, Func<KeyedCoProcessFunction<string, Side, Side, Pair>> function, List<Step> steps, int checkpointAt, int replayFrom)
    {
        var first = Harness.Create(backend, function());
        for (var i = 0; i < checkpointAt; i++)
        {
            first.Apply(steps[i]);
        }

        var checkpoint = first.Op.Snapshot();
        var committed = first.Output.ToList();
        var lateBefore = first.Counters.LateRecordsDropped;
        for (var i = checkpointAt; i < replayFrom; i++)
        {
            first.Apply(steps[i]); // work lost in the crash
        }

        var restored = Harness.Create(backend, function());
        restored.Op.Restore(checkpoint);
        for (var i = checkpointAt; i < steps.Count; i++)
        {
            restored.Apply(steps[i]);
        }

        var entriesBeforeEnd = restored.Op.StateEntries;
        restored.Op.OnWatermark(long.MaxValue);
        return new Run(
            committed.Concat(restored.Output).Order(StringComparer.Ordinal).ToList(),
            lateBefore + restored.Counters.LateRecordsDropped,
            entriesBeforeEnd,
            restored.Op.StateEntries,
            restored.Op.EventTimerCount);
    }

    public static string Diff(List<string> expected, List<string> actual) =>
        $"{expected.Count} expected, {actual.Count} actual; missing e.g. {string.Join(" ", expected.Except(actual).Take(5))}; "
        + $"unexpected e.g. {string.Join(" ", actual.Except(expected).Take(5))}";

    /// <summary>Output as "(pair, timestamp)" strings in ordinal order, late records counted, state and timers left.</summary>
    public sealed record Run(List<string> Output, long Late, int EntriesBeforeEnd, int EntriesAfterEnd, int TimersAfterEnd);

    private sealed class Harness : IRecordSink<Pair>
    {
        private Harness(KeyedCoProcessOperator<Side, Side, string, Pair> op, OperatorCounters counters)
        {
            Op = op;
            Counters = counters;
        }

        public KeyedCoProcessOperator<Side, Side, string, Pair> Op { get; private set; }

        public OperatorCounters Counters { get; }

        public List<string> Output { get; } = [];

        public static Harness Create(StateBackend backend, KeyedCoProcessFunction<string, Side, Side, Pair> function)
        {
            var counters = new OperatorCounters();
            var harness = new Harness(null!, counters);
            harness.Op = new KeyedCoProcessOperator<Side, Side, string, Pair>(
                "join", function, harness,
                KeyedStateBackends.Create<string>(backend, 0, JoinSerializers.Provider, new StateTime(static () => 0)),
                JoinSerializers.Provider, counters, new UserErrorReporter(NullLogger.Instance, "test", () => 0, ErrorPolicy.Fail));
            return harness;
        }

        public void Push(Pair value, long timestamp) => Output.Add((value, timestamp).ToString());

        public void Apply(Step step)
        {
            switch (step.Kind)
            {
                case StepKind.Left:
                    Op.ProcessElement(step.Record.Key, step.Record, step.Record.Ts);
                    break;
                case StepKind.Right:
                    Op.ProcessElement2(step.Record.Key, step.Record, step.Record.Ts);
                    break;
                default:
                    Op.OnWatermark(step.Time);
                    break;
            }
        }
    }
}
