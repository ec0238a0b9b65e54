using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Exchange;
using Sluice.Functions;
using Sluice.Operators;
using Sluice.ProcessFunctions;
using Sluice.State;
using Sluice.Tasks;
using Sluice.Tests.State;

namespace Sluice.Tests.ProcessFunctions;

/// <summary>The co-process and broadcast process operators on every state backend: shared keyed state and timers, broadcast state, snapshots.</summary>
public sealed class TwoInputOperatorTests
{
    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Both_inputs_of_a_co_process_function_share_the_keys_state_and_timers(StateBackend backend)
    {
        var (op, output) = NewCoProcess(backend);
        op.ProcessElement("a", 5, 10);        // input 1: adds to the key's total and sets a timer at 100
        op.ProcessElement2("a", "x", 20);     // input 2: reads the same key's total
        op.ProcessElement2("b", "y", 30);
        op.OnWatermark(100);

        Assert.Equal(["2:a x total=5", "2:b y total=0", "timer:a@100 total=5"], output.Values);
        Assert.Equal(100, output.Records[^1].Timestamp);
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void A_restored_co_process_operator_has_both_inputs_state_and_its_timers(StateBackend backend)
    {
        var (original, _) = NewCoProcess(backend);
        original.ProcessElement("a", 5, 10);
        original.ProcessElement("b", 7, 10);
        original.OnWatermark(50);
        var blob = original.Snapshot();

        var (restored, output) = NewCoProcess(backend);
        restored.Restore(blob);
        Assert.Equal(50, restored.CurrentWatermark);
        Assert.Equal(2, restored.EventTimerCount);
        restored.ProcessElement2("a", "z", 60);
        restored.OnWatermark(200);

        Assert.Equal(["2:a z total=5", "timer:a@100 total=5", "timer:b@100 total=7"], output.Values.Take(1).Concat(output.Values.Skip(1).Order()));
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void A_co_process_snapshot_is_not_restored_into_a_single_input_process_function(StateBackend backend)
    {
        var (op, _) = NewCoProcess(backend);
        var single = new KeyedProcessOperator<Command, string, string>(
            "join", new ScriptedFunction(), new ListSink(), StateBackendCases.Create<string>(backend), StateBackendCases.Serializers, new OperatorCounters(), Errors());

        var error = Assert.Throws<Sluice.State.Snapshots.SnapshotSchemaMismatchException>(() => single.Restore(op.Snapshot()));
        Assert.Contains("coprocess:join", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Broadcast_records_change_the_state_every_key_group_reads_and_keyed_records_read_it(StateBackend backend)
    {
        var (group0, out0) = NewBroadcast(backend, keyGroup: 0);
        var (group1, out1) = NewBroadcast(backend, keyGroup: 1);
        foreach (var op in new[] { group0, group1 })
        {
            op.ProcessBroadcastElement(new Rule("big", 10), 1);
            op.ProcessBroadcastElement(new Rule("huge", 100), 2);
        }

        group0.ProcessElement("a", 50, 5);
        group1.ProcessElement("b", 500, 5);
        group0.ProcessBroadcastElement(new Rule("big", 60), 6);
        group0.ProcessElement("a", 50, 7);

        Assert.Equal(["a 50 matches [big]", "a 50 matches []"], out0.Values);
        Assert.Equal(["b 500 matches [big,huge]"], out1.Values);
        Assert.Equal(1 + 1, group0.StateEntries); // one rule left and one key's count
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Broadcast_state_is_in_the_snapshot_and_a_restore_replaces_it(StateBackend backend)
    {
        var (original, _) = NewBroadcast(backend);
        original.ProcessBroadcastElement(new Rule("big", 10), 1);
        original.ProcessElement("a", 50, 5);
        original.OnWatermark(5);
        var blob = original.Snapshot();
        original.ProcessBroadcastElement(new Rule("later", 1), 6);

        var (restored, output) = NewBroadcast(backend);
        restored.ProcessBroadcastElement(new Rule("stale", 0), 1); // replaced by the restore
        restored.Restore(blob);
        restored.ProcessElement("a", 20, 8);

        Assert.Equal(["a 20 matches [big]"], output.Values); // neither 'stale' (replaced) nor 'later' (after the snapshot)
        Assert.Equal(2, restored.Count("a"));
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Apply_to_keyed_state_visits_every_key_with_state_and_may_change_it(StateBackend backend)
    {
        var (op, output) = NewBroadcast(backend);
        op.ProcessBroadcastElement(new Rule("big", 10), 1);
        op.ProcessElement("a", 1, 2);
        op.ProcessElement("b", 1, 2);
        op.ProcessElement("b", 1, 2);

        op.ProcessBroadcastElement(new Rule(RuleMatcher.Reset, 0), 3);

        Assert.Equal(["reset a from 1", "reset b from 2"], output.Values.Where(v => v.StartsWith("reset", StringComparison.Ordinal)).Order());
        Assert.Equal(0, op.Count("a"));
        Assert.Equal(0, op.Count("b"));
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void A_broadcast_state_that_was_not_declared_is_refused(StateBackend backend)
    {
        var (op, _) = NewBroadcast(backend);
        var error = Assert.Throws<InvalidOperationException>(() => op.ProcessBroadcastElement(new Rule(RuleMatcher.Undeclared, 0), 1));
        Assert.Contains("was not declared", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void A_two_input_task_routes_each_port_to_its_input_and_timers_fire_before_the_watermark_leaves(StateBackend backend)
    {
        var (op, output) = NewCoProcess(backend);
        var counters = new OperatorCounters();
        var log = new List<string>();
        var task = new KeyedStageTask<int, string>(
            v => v % 2 == 0 ? "even" : "odd", op, [new WatermarkLog(log, output)], counters, Errors(),
            new KeyedSecondInput<string, string>(s => s, op, counters, Errors()));

        task.Process(new RecordBatch<int>([2, 4, 3], [1, 2, 3]), port: 0);
        task.Process(new RecordBatch<string>(["even", "odd"], [4, 5]), port: 1);
        task.OnWatermark(100);

        Assert.Equal(5, counters.RecordsIn);
        Assert.Equal(["2:even even total=6", "2:odd odd total=3", "timer:even@100 total=6", "timer:odd@100 total=3", "watermark 100"],
            log.Take(2).Concat(log.Skip(2).Take(2).Order()).Append(log[^1]));
    }

    private static (KeyedCoProcessOperator<int, string, string, string> Op, ListSink Output) NewCoProcess(StateBackend backend)
    {
        var output = new ListSink();
        var op = new KeyedCoProcessOperator<int, string, string, string>(
            "join", new TotalsJoin(), output, StateBackendCases.Create<string>(backend), StateBackendCases.Serializers, new OperatorCounters(), Errors());
        return (op, output);
    }

    private static (BroadcastHarness Op, ListSink Output) NewBroadcast(StateBackend backend, int keyGroup = 0)
    {
        var output = new ListSink();
        var function = new RuleMatcher();
        var op = new KeyedBroadcastProcessOperator<long, string, Rule, string>(
            "rules", function, [RuleMatcher.Thresholds], output, StateBackendCases.Create<string>(backend, keyGroup: keyGroup),
            StateBackendCases.Serializers, new OperatorCounters(), Errors());
        return (new BroadcastHarness(op, function), output);
    }

    private static UserErrorReporter Errors() => new(NullLogger.Instance, "test", () => 0, ErrorPolicy.Fail);

    /// <summary>The operator with a way to read a key's count back.</summary>
    private sealed class BroadcastHarness(KeyedBroadcastProcessOperator<long, string, Rule, string> op, RuleMatcher function)
    {
        public int StateEntries => op.StateEntries;

        public void ProcessElement(string key, long value, long ts) => op.ProcessElement(key, value, ts);

        public void ProcessBroadcastElement(Rule rule, long ts) => op.ProcessBroadcastElement(rule, ts);

        public void OnWatermark(long watermark) => op.OnWatermark(watermark);

        public byte[] Snapshot() => op.Snapshot();

        public void Restore(byte[] blob) => op.Restore(blob);

        public long Count(string key)
        {
            op.ProcessElement(key, long.MinValue, 0); // a probe the function answers without output
            return function.LastCount;
        }
    }

    /// <summary>Input 1 adds to the key's total and sets a timer at 100; input 2 reports the total.</summary>
    private sealed class TotalsJoin : KeyedCoProcessFunction<string, int, string, string>
    {
        private IValueState<long> _total = null!;

        public override void Open(IKeyedRuntimeContext state) => _total = state.GetState(new ValueStateDescriptor<long>("total"));

        public override void ProcessElement1(int value, IKeyedProcessContext<string> ctx, ICollector<string> output)
        {
            _total.Update(_total.Value() + value);
            ctx.Timers.RegisterEventTimeTimer(100);
        }

        public override void ProcessElement2(string value, IKeyedProcessContext<string> ctx, ICollector<string> output) =>
            output.Collect($"2:{ctx.CurrentKey} {value} total={_total.Value()}");

        public override void OnTimer(long time, IOnTimerContext<string> ctx, ICollector<string> output) =>
            output.Collect($"timer:{ctx.CurrentKey}@{time} total={_total.Value()}");
    }

    /// <summary>Rules are named thresholds; a keyed value lists the rules it exceeds and counts the key's values.</summary>
    private sealed class RuleMatcher : KeyedBroadcastProcessFunction<string, long, Rule, string>
    {
        public const string Reset = "!reset";
        public const string Undeclared = "!undeclared";
        public static readonly MapStateDescriptor<string, long> Thresholds = new("thresholds");
        private static readonly ValueStateDescriptor<long> CountDescriptor = new("count");
        private IValueState<long> _count = null!;

        public long LastCount { get; private set; }

        public override void Open(IKeyedRuntimeContext state) => _count = state.GetState(CountDescriptor);

        public override void ProcessElement(long value, IReadOnlyBroadcastContext<string> ctx, ICollector<string> output)
        {
            if (value == long.MinValue)
            {
                LastCount = _count.Value();
                return;
            }

            _count.Update(_count.Value() + 1);
            var matches = ctx.GetBroadcastState(Thresholds).Entries().Where(e => value > e.Value).Select(e => e.Key).Order(StringComparer.Ordinal);
            output.Collect($"{ctx.CurrentKey} {value} matches [{string.Join(",", matches)}]");
        }

        public override void ProcessBroadcastElement(Rule value, IBroadcastContext<string> ctx, ICollector<string> output)
        {
            switch (value.Name)
            {
                case Reset:
                    ctx.ApplyToKeyedState(CountDescriptor, key =>
                    {
                        output.Collect($"reset {key} from {_count.Value()}");
                        _count.Clear();
                    });
                    break;
                case Undeclared:
                    ctx.GetBroadcastState(new MapStateDescriptor<string, long>("other"));
                    break;
                default:
                    var state = ctx.GetBroadcastState(Thresholds);
                    state.Put(value.Name, value.Threshold);
                    if (value.Name == "big" && value.Threshold > 50)
                    {
                        state.Remove("huge");
                    }

                    break;
            }
        }
    }

    private sealed class ListSink : IRecordSink<string>
    {
        public List<(string Value, long Timestamp)> Records { get; } = [];

        public IEnumerable<string> Values => Records.Select(r => r.Value);

        public void Push(string value, long timestamp) => Records.Add((value, timestamp));
    }

    private sealed class WatermarkLog(List<string> log, ListSink output) : IStageOutput
    {
        public void OnWatermark(long watermark)
        {
            log.AddRange(output.Values);
            output.Records.Clear();
            log.Add($"watermark {watermark}");
        }

        public void OnIdle(bool idle)
        {
        }

        public void OnEndOfInput()
        {
        }
    }
}

[GenerateSerializer, Immutable]
public sealed record Rule(string Name, long Threshold);
