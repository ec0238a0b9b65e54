using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Exchange;
using Sluice.Functions;
using Sluice.Operators;
using Sluice.Pipelines;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.State;
using Sluice.Tests.State;
using Sluice.Tasks;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.Properties;

/// <summary>
/// Late data at the operator level, many seeds: a key group's input gate and window operator are driven directly with
/// a random round-ordered interleaving of the partitions of a <see cref="LateStreamCase"/> (records behind the watermark,
/// per-partition watermarks, partitions that idle, pause and come back, and end), exactly as the key-group grain drives
/// them (records, then the message's watermark and flags, then the operator's watermark when the gate's moved). The same
/// interleaving goes to <see cref="LateDataOracle"/>. Checked exactly: every window fires once, during the input the oracle
/// says, with the oracle's value and the stage watermark at firing (read in the window function), stamped end - 1; the
/// late counter equals the oracle's dropped records.
/// Seeds are random per run and printed; <c>SLUICE_PROPERTY_SEED=&lt;seed&gt;</c> replays a failure (from that seed on).
/// </summary>
public sealed class LateDataOperatorPropertyTests(ITestOutputHelper output)
{
    private const int Cases = 200;

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Window_operator_behind_an_input_gate_matches_the_late_data_oracle_exactly(StateBackend backend)
    {
        var seeds = PropertySeeds.For(Cases);
        output.WriteLine($"seeds {seeds[0]}..{seeds[^1]} (replay one: SLUICE_PROPERTY_SEED=<seed>)");
        long records = 0, dropped = 0, partlyLate = 0, fired = 0;
        foreach (var seed in seeds)
        {
            var c = LateStreamCase.Generate(seed, rounds: new Random(seed).Next(2, 9), equalWatermarks: seed % 3 == 0, allowReturns: true);
            var inputs = c.Interleave(seed ^ 0x1a7e);
            var rng = new Random(seed ^ 0xe4d);
            foreach (var p in Enumerable.Range(0, c.Partitions).OrderBy(_ => rng.Next()))
            {
                inputs.Add(StageInput.EndOf(p));
            }

            var expected = LateDataOracle.Run(inputs, c.Partitions, c.Windows, c.Kind);
            var (actual, late) = RunOperator(c, inputs, backend);
            var context = $"{c}, {inputs.Count} inputs";
            WindowOracle.AssertSameMultiset(
                expected.Fired.Select(f => (f.Window, f.FiredAt)).ToList(),
                actual.Select(a => (a.Window, a.FiredAt)).ToList(),
                $"{context}: (window, input that fired it)");
            var badStamp = actual.FirstOrDefault(a => a.Timestamp != a.Window.End - 1);
            Assert.True(badStamp == default, $"{context}: {badStamp.Window} stamped {badStamp.Timestamp}, not end - 1");
            Assert.True(expected.Dropped == late, $"{context}: late records counted {late}, oracle dropped {expected.Dropped} (partly late {expected.PartlyLate}, in no window {expected.InNoWindow})");
            records += c.RecordCount;
            dropped += expected.Dropped;
            partlyLate += expected.PartlyLate;
            fired += expected.Fired.Count;
        }

        output.WriteLine($"{Cases} cases: {records} records, {dropped} dropped as late, {partlyLate} (record, window) pairs late, {fired} windows fired");
        Assert.True(dropped > 0 && partlyLate > 0, "the generator must produce late records");
    }

    /// <summary>Feeds one interleaving through a gate and an operator; returns each output, the input during which it came, and the late count.</summary>
    internal static (List<(FiredWindow Window, int FiredAt, long Timestamp)> Outputs, long Late) RunOperator(LateStreamCase c, IReadOnlyList<StageInput> inputs, StateBackend backend)
    {
        var pipeline = Pipeline.Create("late-operator");
        var aggregate = c.Kind == AggregateKind.Count ? Aggregates.Count<Event>() : Aggregates.Sum<Event>(e => e.Value);
        WindowAssigner assigner = c.Windows.Size == c.Windows.Slide
            ? Tumbling.Of(TimeSpan.FromMilliseconds(c.Windows.Size), TimeSpan.FromMilliseconds(c.Windows.Offset))
            : Sliding.Of(TimeSpan.FromMilliseconds(c.Windows.Size), TimeSpan.FromMilliseconds(c.Windows.Slide), TimeSpan.FromMilliseconds(c.Windows.Offset));
        pipeline.From(new InMemorySource<Event>("in", 1))
            .KeyBy(e => e.Key)
            .Window(assigner)
            .Aggregate(aggregate, new FiringWatermark(), "late")
            .SinkTo(new CollectingSink<FiredWindow>("out"));
        var node = (WindowNode<Event, string, long, long, FiredWindow>)pipeline.Sinks[0].Input!;
        var sink = new ListSink();
        var counters = new OperatorCounters();
        var op = new WindowOperator<Event, string, long, long, FiredWindow>(
            node, sink, StateBackendCases.Create<string>(backend), StateBackendCases.Serializers, counters, new UserErrorReporter(NullLogger.Instance, "test", () => 0, ErrorPolicy.Fail));
        var gate = new InputGate(Enumerable.Range(0, c.Partitions).ToList());
        var sequence = new long[c.Partitions];
        var watermark = new long[c.Partitions];
        Array.Fill(watermark, long.MinValue);
        for (var i = 0; i < inputs.Count; i++)
        {
            sink.Input = i;
            var input = inputs[i];
            var p = input.Partition;
            var flags = ChannelFlags.None;
            switch (input.Kind)
            {
                case StageInputKind.Record:
                    op.ProcessElement(input.Record.Key, input.Record, input.Record.Ts);
                    break;
                case StageInputKind.Watermark:
                    watermark[p] = Math.Max(watermark[p], input.Watermark);
                    break;
                case StageInputKind.Idle:
                    flags = ChannelFlags.Idle;
                    break;
                case StageInputKind.End:
                    flags = ChannelFlags.EndOfInput;
                    watermark[p] = long.MaxValue;
                    break;
            }

            if (gate.Update(new ChannelBatch(p, ++sequence[p], watermark[p], flags, records: null)))
            {
                op.OnWatermark(gate.Ended ? long.MaxValue : gate.Watermark);
            }
        }

        return (sink.Outputs, counters.LateRecordsDropped);
    }

    /// <summary>Reports each window's aggregate with the watermark it fired at.</summary>
    private sealed class FiringWatermark : IProcessWindowFunction<long, FiredWindow, string>
    {
        public void Process(string key, WindowContext context, IReadOnlyList<long> elements, ICollector<FiredWindow> output) =>
            output.Collect(new FiredWindow(key, context.Window.Start, context.Window.End, elements.Single(), context.CurrentWatermark));
    }

    private sealed class ListSink : IRecordSink<FiredWindow>
    {
        public int Input { get; set; }

        public List<(FiredWindow Window, int FiredAt, long Timestamp)> Outputs { get; } = [];

        public void Push(FiredWindow value, long timestamp) => Outputs.Add((value, Input, timestamp));
    }
}
