using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Exchange;
using Sluice.Operators;
using Sluice.ProcessFunctions;
using Sluice.State;
using Sluice.Tasks;
using Sluice.Tests.State;

namespace Sluice.Tests.ProcessFunctions;

/// <summary>The keyed process operator on every state backend: keyed state, both timer kinds, snapshots.</summary>
public sealed class KeyedProcessOperatorTests
{
    private long _now;

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Value_list_and_map_state_are_kept_per_key(StateBackend backend)
    {
        var (op, output) = NewOperator(backend);
        Feed(op, Command.Add("a", 1), Command.Add("b", 7), Command.Add("a", 2), Command.Add("a", 1));

        Assert.Equal(
            [
                "a count=1 values=[1] seen={1:1}",
                "b count=1 values=[7] seen={7:1}",
                "a count=2 values=[1,2] seen={1:1,2:1}",
                "a count=3 values=[1,2,1] seen={1:2,2:1}",
            ],
            output.Values);
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Event_time_timers_fire_once_per_key_and_time_in_time_order_stamped_with_their_time(StateBackend backend)
    {
        var (op, output) = NewOperator(backend);
        Feed(op, Command.Add("a", 1), Command.EventTimer("a", 30), Command.EventTimer("b", 10), Command.EventTimer("a", 20),
            Command.EventTimer("a", 30), Command.EventTimer("b", 30), Command.EventTimer("c", 50));
        output.Records.Clear();

        op.OnWatermark(29);
        Assert.Equal(["EventTime:b@10 count=0 values=[] seen={}", "EventTime:a@20 count=1 values=[1] seen={1:1}"], output.Values);
        Assert.Equal([10L, 20L], output.Records.Select(r => r.Timestamp));

        output.Records.Clear();
        op.OnWatermark(40);
        Assert.Equal(["a@30", "b@30"], output.Values.Select(v => v.Split(' ')[0]["EventTime:".Length..]).Order());
        Assert.Equal(1, op.EventTimerCount);
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Deleted_timers_do_not_fire_and_other_keys_timers_at_the_same_time_still_do(StateBackend backend)
    {
        var (op, output) = NewOperator(backend);
        Feed(op, Command.EventTimer("a", 10), Command.EventTimer("b", 10), Command.ProcessingTimer("a", 100), Command.ProcessingTimer("b", 100),
            Command.DeleteEventTimer("a", 10), Command.DeleteProcessingTimer("b", 100), Command.DeleteEventTimer("c", 10));

        op.OnWatermark(1_000);
        _now = 1_000;
        op.OnProcessingTime(_now);

        Assert.Equal(["EventTime:b@10 count=0 values=[] seen={}", "ProcessingTime:a@100 count=0 values=[] seen={}"], output.Values);
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Processing_time_timers_fire_when_the_clock_reaches_them_and_their_output_has_no_timestamp(StateBackend backend)
    {
        var (op, output) = NewOperator(backend);
        Feed(op, Command.ProcessingTimer("a", 200), Command.ProcessingTimer("b", 100), Command.ProcessingTimer("b", 100));
        Assert.Equal(100, op.NextProcessingTime);

        op.OnProcessingTime(99);
        Assert.Empty(output.Records);
        op.OnProcessingTime(150);
        Assert.Equal(["ProcessingTime:b@100 count=0 values=[] seen={}"], output.Values);
        Assert.Equal(long.MinValue, output.Records[0].Timestamp);
        Assert.Equal(200, op.NextProcessingTime);
        op.OnWatermark(long.MaxValue);
        Assert.Single(output.Records); // the watermark does not fire processing-time timers
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Timers_a_timer_registers_at_or_before_the_watermark_fire_in_the_same_advance(StateBackend backend)
    {
        var (op, output) = NewOperator(backend, new ScriptedFunction { ChainEvery = 10 });
        Feed(op, Command.EventTimer("a", 5));

        op.OnWatermark(30);

        Assert.Equal(["a@5", "a@15", "a@25"], output.Values.Select(v => v.Split(' ')[0]["EventTime:".Length..]));
        Assert.Equal(1, op.EventTimerCount); // a@35 waits
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Timers_fire_before_the_task_forwards_the_watermark(StateBackend backend)
    {
        var log = new List<string>();
        var (op, _) = NewOperator(backend, sink: new LoggingSink(log));
        var task = new KeyedStageTask<Command, string>(c => c.Key, op, [new WatermarkLog(log)], new OperatorCounters(), Errors());
        task.Process(new RecordBatch<Command>([Command.EventTimer("a", 10), Command.EventTimer("b", 20)], [0, 0]));

        task.OnWatermark(25);

        Assert.Equal(["EventTime:a@10", "EventTime:b@20", "watermark 25"], log.Select(l => l.Split(' ')[0] == "watermark" ? l : l.Split(' ')[0]));
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void A_restored_operator_has_the_state_and_timers_and_its_restored_timers_fire(StateBackend backend)
    {
        var (original, _) = NewOperator(backend);
        Feed(original, Command.Add("a", 3), Command.Add("b", 4), Command.Add("a", 5), Command.EventTimer("a", 50), Command.EventTimer("b", 70),
            Command.ProcessingTimer("b", 500), Command.DeleteEventTimer("b", 70));
        original.OnWatermark(20);
        var blob = original.Snapshot();

        var (restored, output) = NewOperator(backend);
        restored.Restore(blob);
        Assert.Equal(original.StateEntries, restored.StateEntries);
        Assert.Equal(20, restored.CurrentWatermark);
        Assert.Equal(1, restored.EventTimerCount);
        Assert.Equal(500, restored.NextProcessingTime);

        restored.OnWatermark(10); // inputs restart lower after a restore: nothing fires, time does not go back
        Assert.Empty(output.Records);
        restored.OnWatermark(100);
        restored.OnProcessingTime(600);
        Feed(restored, Command.Add("a", 3));

        Assert.Equal(
            [
                "EventTime:a@50 count=2 values=[3,5] seen={3:1,5:1}",
                "ProcessingTime:b@500 count=1 values=[4] seen={4:1}",
                "a count=3 values=[3,5,3] seen={3:2,5:1}",
            ],
            output.Values);
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void A_restored_operator_continues_exactly_like_the_original_on_random_input(StateBackend backend)
    {
        var random = new Random(11);
        var commands = Enumerable.Range(0, 3_000).Select(i => (Command: RandomCommand(random, i), Ts: (long)i)).ToList();
        var (original, originalOut) = NewOperator(backend);
        Run(original, commands.Take(1_500));
        var blob = original.Snapshot();
        var (restored, restoredOut) = NewOperator(backend);
        restored.Restore(blob);

        originalOut.Records.Clear();
        Run(original, commands.Skip(1_500));
        Run(restored, commands.Skip(1_500));
        original.OnWatermark(long.MaxValue);
        restored.OnWatermark(long.MaxValue);

        Assert.True(restoredOut.Records.Count > 1_000);
        // Timers of different keys at the same time fire in no defined order (as in Flink), so compare as ordered sets.
        Assert.Equal(originalOut.Records.OrderBy(r => r.Timestamp).ThenBy(r => r.Value, StringComparer.Ordinal), restoredOut.Records.OrderBy(r => r.Timestamp).ThenBy(r => r.Value, StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void A_snapshot_of_another_process_function_is_refused(StateBackend backend)
    {
        var (op, _) = NewOperator(backend);
        var (other, _) = NewOperator(backend, name: "other");
        var error = Assert.Throws<Sluice.State.Snapshots.SnapshotSchemaMismatchException>(() => other.Restore(op.Snapshot()));
        Assert.Contains("process:scripted", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Side_output_records_go_to_every_reader_of_their_tag_with_the_record_timestamp(StateBackend backend)
    {
        var main = new ListSink();
        var side = new List<(long Value, long Timestamp)>();
        var other = new List<(long Value, long Timestamp)>();
        var outputs = new SideOutputs(
            [
                new SideOutput<long>(new OutputTag<long>("side"), new LongSink(side)),
                new SideOutput<long>(new OutputTag<long>("other"), new LongSink(other)),
                new SideOutput<int>(new OutputTag<int>("side"), new IntSink()),
            ],
            new OperatorCounters());
        var op = new KeyedProcessOperator<Command, string, string>(
            "scripted", new ScriptedFunction(), main, StateBackendCases.Create<string>(backend), StateBackendCases.Serializers, new OperatorCounters(), Errors(), outputs);

        op.ProcessElement("a", Command.Side("a", 7), 42);
        op.ProcessElement("a", Command.Add("a", 1), 43);

        Assert.Equal([(7L, 42L)], side);
        Assert.Empty(other);
        Assert.Equal(["a count=1 values=[1] seen={1:1}"], main.Values);
    }

    [Fact]
    public void Side_output_is_only_offered_on_a_process_functions_output()
    {
        var pipeline = Pipeline.Create("side");
        var keyed = pipeline.From(new Sluice.Sources.InMemorySource<Command>("in", 1)).Map(c => c, "copy");
        Assert.Throws<InvalidOperationException>(() => keyed.SideOutput(ScriptedFunction.Side));
    }

    private static Command RandomCommand(Random random, int i)
    {
        var key = $"k{random.Next(12)}";
        return random.Next(4) switch
        {
            0 => Command.EventTimer(key, i + random.Next(0, 200)),
            1 => Command.DeleteEventTimer(key, i + random.Next(0, 200)),
            2 => Command.ProcessingTimer(key, i + random.Next(0, 200)),
            _ => Command.Add(key, random.Next(5)),
        };
    }

    private void Run(KeyedProcessOperator<Command, string, string> op, IEnumerable<(Command Command, long Ts)> commands)
    {
        foreach (var (command, ts) in commands)
        {
            op.ProcessElement(command.Key, command, ts);
            if (ts % 50 == 0)
            {
                op.OnWatermark(ts - 20);
                op.OnProcessingTime(ts);
            }
        }
    }

    private static void Feed(KeyedProcessOperator<Command, string, string> op, params Command[] commands)
    {
        foreach (var command in commands)
        {
            op.ProcessElement(command.Key, command, 0);
        }
    }

    private (KeyedProcessOperator<Command, string, string> Op, ListSink Output) NewOperator(
        StateBackend backend, ScriptedFunction? function = null, string name = "scripted", IRecordSink<string>? sink = null)
    {
        var output = new ListSink();
        var state = StateBackendCases.Create<string>(backend, () => _now);
        var op = new KeyedProcessOperator<Command, string, string>(
            name, function ?? new ScriptedFunction(), sink ?? output, state, StateBackendCases.Serializers, new OperatorCounters(), Errors());
        return (op, output);
    }

    private static UserErrorReporter Errors() => new(NullLogger.Instance, "test", () => 0, ErrorPolicy.Fail);

    private sealed class ListSink : IRecordSink<string>
    {
        public List<(string Value, long Timestamp)> Records { get; } = [];

        public IEnumerable<string> Values => Records.Select(r => r.Value);

        public void Push(string value, long timestamp) => Records.Add((value, timestamp));
    }

    private sealed class LongSink(List<(long Value, long Timestamp)> records) : IRecordSink<long>
    {
        public void Push(long value, long timestamp) => records.Add((value, timestamp));
    }

    private sealed class IntSink : IRecordSink<int>
    {
        public void Push(int value, long timestamp) => throw new InvalidOperationException("an int tag of the same id is another side output");
    }

    private sealed class LoggingSink(List<string> log) : IRecordSink<string>
    {
        public void Push(string value, long timestamp) => log.Add(value);
    }

    private sealed class WatermarkLog(List<string> log) : IStageOutput
    {
        public void OnWatermark(long watermark) => log.Add($"watermark {watermark}");

        public void OnIdle(bool idle)
        {
        }

        public void OnEndOfInput()
        {
        }
    }
}
