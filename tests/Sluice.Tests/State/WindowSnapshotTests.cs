using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Functions;
using Sluice.Operators;
using Sluice.Pipelines;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.State;
using Sluice.State.Snapshots;
using Sluice.Tasks;
using Sluice.Windows;

namespace Sluice.Tests.State;

/// <summary>A window operator's snapshot and restore through its state backend, for every backend.</summary>
public sealed class WindowSnapshotTests
{
    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void A_restored_operator_continues_exactly_like_the_original_on_random_input(StateBackend backend)
    {
        var random = new Random(5);
        var records = Enumerable.Range(0, 2_000).Select(i => ($"k{random.Next(30)}", (long)random.Next(1, 9), i * 3L - random.Next(0, 50))).ToList();
        var (original, originalOut) = NewOperator(backend);
        Feed(original, records.Take(1_000), watermarkEvery: 100);

        var blob = original.Snapshot();
        var (restored, restoredOut) = NewOperator(backend);
        restored.Restore(blob);
        Assert.Equal(original.StateEntries, restored.StateEntries);
        Assert.Equal(original.CurrentWatermark, restored.CurrentWatermark);

        originalOut.Clear();
        Feed(original, records.Skip(1_000), watermarkEvery: 100);
        Feed(restored, records.Skip(1_000), watermarkEvery: 100);
        original.OnWatermark(long.MaxValue);
        restored.OnWatermark(long.MaxValue);

        Assert.NotEmpty(restoredOut);
        Assert.Equal(originalOut.OrderBy(r => r.Timestamp).ThenBy(r => r.Value), restoredOut.OrderBy(r => r.Timestamp).ThenBy(r => r.Value));
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void A_restored_operator_never_goes_back_to_a_lower_watermark_so_a_late_record_stays_late(StateBackend backend)
    {
        var (original, originalOut) = NewOperator(backend);
        Feed(original, [("a", 1, 10), ("a", 2, 60)], watermarkEvery: 0);
        original.OnWatermark(249);
        Assert.Single(originalOut); // window [0, 100) fired
        var blob = original.Snapshot();

        var (restored, restoredOut) = NewOperator(backend);
        restored.Restore(blob);
        // Inputs restart lower after a restore (a fresh channel, a partition that is no longer idle).
        restored.OnWatermark(4);
        Assert.Equal(249, restored.CurrentWatermark);
        restored.ProcessElement("a", ("a", 5), 50);
        restored.OnWatermark(300);

        Assert.Equal(0, restored.StateEntries);
        Assert.Empty(restoredOut);
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void A_corrupted_or_truncated_snapshot_is_detected_and_leaves_state_untouched(StateBackend backend)
    {
        var (op, _) = NewOperator(backend);
        Feed(op, [("a", 1, 5), ("b", 2, 15)], watermarkEvery: 0);
        var blob = op.Snapshot();

        var (target, _) = NewOperator(backend);
        Feed(target, [("z", 9, 7)], watermarkEvery: 0);
        var flipped = (byte[])blob.Clone();
        flipped[^3] ^= 0x40;
        Assert.Throws<SnapshotCorruptedException>(() => target.Restore(flipped));
        Assert.Throws<SnapshotCorruptedException>(() => target.Restore(blob.AsMemory(0, blob.Length - 10)));
        Assert.Throws<SnapshotCorruptedException>(() => target.Restore(new byte[3]));
        Assert.Equal(1, target.StateEntries);
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void A_snapshot_of_another_schema_is_refused_with_both_schemas_named(StateBackend backend)
    {
        var (op, _) = NewOperator(backend);
        var blob = op.Snapshot();
        var (renamed, _) = NewOperator(backend, "renamed");
        var error = Assert.Throws<SnapshotSchemaMismatchException>(() => renamed.Restore(blob));
        Assert.Contains("window:sum", error.Message, StringComparison.Ordinal);
        Assert.Contains("window:renamed", error.Message, StringComparison.Ordinal);
    }

    private static void Feed(WindowOperator<(string Key, long Value), string, long, long, long> op, IEnumerable<(string Key, long Value, long Ts)> records, int watermarkEvery)
    {
        var n = 0;
        var max = long.MinValue;
        foreach (var (key, value, ts) in records)
        {
            op.ProcessElement(key, (key, value), ts);
            max = Math.Max(max, ts);
            if (watermarkEvery > 0 && ++n % watermarkEvery == 0)
            {
                op.OnWatermark(max - 60);
            }
        }
    }

    private static (WindowOperator<(string Key, long Value), string, long, long, long> Op, List<(long Value, long Timestamp)> Output) NewOperator(StateBackend backend, string name = "sum")
    {
        var pipeline = Pipeline.Create("snapshot");
        pipeline.From(new InMemorySource<(string Key, long Value)>("in", 1))
            .KeyBy(r => r.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(100)))
            .Aggregate(Aggregates.Sum<(string Key, long Value)>(r => r.Value), name)
            .SinkTo(new CollectingSink<long>("out"));
        var node = (WindowNode<(string Key, long Value), string, long, long, long>)pipeline.Sinks[0].Input!;
        var output = new ListSink();
        var errors = new UserErrorReporter(NullLogger.Instance, "test", () => 0, ErrorPolicy.Fail);
        var state = StateBackendCases.Create<string>(backend);
        return (new WindowOperator<(string Key, long Value), string, long, long, long>(node, output, state, StateBackendCases.Serializers, new OperatorCounters(), errors), output.Records);
    }

    private sealed class ListSink : IRecordSink<long>
    {
        public List<(long Value, long Timestamp)> Records { get; } = [];

        public void Push(long value, long timestamp) => Records.Add((value, timestamp));
    }
}
