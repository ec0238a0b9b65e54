using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Functions;
using Sluice.Operators;
using Sluice.Pipelines;
using Sluice.ProcessFunctions;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.State;
using Sluice.Tasks;
using Sluice.Tests.State;
using Sluice.Windows;

namespace Sluice.Tests.Windows;

/// <summary>
/// Drives one window operator without a silo, as a key group does: records with their timestamps, then watermarks.
/// The window stage is declared with the public builder (<paramref name="window"/> gets the keyed stream), so what is
/// tested is what a pipeline runs. Collects the main output with its timestamps and the late-data side output.
/// </summary>
internal sealed class WindowHarness<TIn, TOut> : IRecordSink<TOut>
{
    private readonly Func<IWindowOperatorAccess> _create;
    private IWindowOperatorAccess _operator;
    private long _now;

    public WindowHarness(Func<KeyedStream<TIn, string>, DataStream<TOut>> window, Func<TIn, string> key, OutputTag<TIn>? lateTag = null, StateBackend backend = StateBackend.Heap)
    {
        var pipeline = Pipeline.Create("harness");
        var result = window(pipeline.From(new InMemorySource<TIn>("in", 1)).KeyBy(key));
        result.SinkTo(new CollectingSink<TOut>("out"));
        var node = result.Node;
        Key = key;
        LateTag = lateTag;
        _create = () => Access.Create(node, this, backend);
        _operator = _create();
    }

    public Func<TIn, string> Key { get; }

    public OutputTag<TIn>? LateTag { get; }

    /// <summary>The task's counters: they outlive a restart of the operator, as a task's do.</summary>
    public OperatorCounters Counters { get; } = new();

    public List<(TOut Value, long Timestamp)> Output { get; } = [];

    public List<(TIn Value, long Timestamp)> LateOutput { get; } = [];

    public int StateEntries => _operator.StateEntries;

    public WindowHarness<TIn, TOut> Element(TIn value, long timestamp)
    {
        _operator.ProcessElement(value, timestamp);
        return this;
    }

    public WindowHarness<TIn, TOut> Watermark(long watermark)
    {
        _operator.OnWatermark(watermark);
        return this;
    }

    /// <summary>Moves the processing-time clock to <paramref name="now"/> and fires the processing-time timers due by then.</summary>
    public WindowHarness<TIn, TOut> ProcessingTime(long now)
    {
        _now = now;
        _operator.OnProcessingTime(now);
        return this;
    }

    /// <summary>Takes the output so far (and forgets it), for asserting what one step emitted.</summary>
    public List<(TOut Value, long Timestamp)> Drain()
    {
        var drained = Output.ToList();
        Output.Clear();
        return drained;
    }

    /// <summary>Snapshots the operator, throws it away and restores a fresh one from the snapshot (a restart from a checkpoint).</summary>
    public WindowHarness<TIn, TOut> Restart()
    {
        var blob = _operator.Snapshot();
        _operator = _create();
        _operator.Restore(blob);
        return this;
    }

    public void Push(TOut value, long timestamp) => Output.Add((value, timestamp));

    private interface IWindowOperatorAccess
    {
        OperatorCounters Counters { get; }

        int StateEntries { get; }

        void ProcessElement(TIn value, long timestamp);

        void OnWatermark(long watermark);

        void OnProcessingTime(long now);

        byte[] Snapshot();

        void Restore(byte[] blob);
    }

    /// <summary>Builds the typed operator through the node's visitor, so the harness needs no reflection.</summary>
    private sealed class Access : HeadVisitor<object>
    {
        private readonly WindowHarness<TIn, TOut> _harness;
        private readonly StateBackend _backend;

        private Access(WindowHarness<TIn, TOut> harness, StateBackend backend)
            : base("window harness")
        {
            _harness = harness;
            _backend = backend;
        }

        public static IWindowOperatorAccess Create(StreamNode node, WindowHarness<TIn, TOut> harness, StateBackend backend) =>
            (IWindowOperatorAccess)node.Accept(new Access(harness, backend));

        public override object VisitWindow<TIn1, TKey, TAcc, TResult, TOut1>(WindowNode<TIn1, TKey, TAcc, TResult, TOut1> node)
        {
            var counters = _harness.Counters;
            var lateSink = new LateSink(_harness);
            var sides = _harness.LateTag is { } tag
                ? new SideOutputs([new SideOutput<TIn>(tag, lateSink)], counters)
                : SideOutputs.None;
            var op = new WindowOperator<TIn1, TKey, TAcc, TResult, TOut1>(
                node,
                (IRecordSink<TOut1>)(object)_harness,
                StateBackendCases.Create<TKey>(_backend, () => _harness._now),
                StateBackendCases.Serializers,
                counters,
                new UserErrorReporter(NullLogger.Instance, "test", () => 0, ErrorPolicy.Fail),
                sides);
            return new Typed<TIn1, TKey, TAcc, TResult, TOut1>(op, counters, _harness.Key);
        }
    }

    private sealed class Typed<TIn1, TKey, TAcc, TResult, TOut1>(
        WindowOperator<TIn1, TKey, TAcc, TResult, TOut1> op, OperatorCounters counters, Func<TIn, string> key) : IWindowOperatorAccess
        where TKey : notnull
    {
        public OperatorCounters Counters => counters;

        public int StateEntries => op.StateEntries;

        public void ProcessElement(TIn value, long timestamp) =>
            op.ProcessElement((TKey)(object)key(value), (TIn1)(object)value!, timestamp);

        public void OnWatermark(long watermark) => op.OnWatermark(watermark);

        public void OnProcessingTime(long now) => op.OnProcessingTime(now);

        public byte[] Snapshot() => op.Snapshot();

        public void Restore(byte[] blob) => op.Restore(blob);
    }

    private sealed class LateSink(WindowHarness<TIn, TOut> harness) : IRecordSink<TIn>
    {
        public void Push(TIn value, long timestamp) => harness.LateOutput.Add((value, timestamp));
    }
}
