using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Serialization;
using Sluice.Functions;
using Sluice.Operators;
using Sluice.Pipelines;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.State.Snapshots;
using Sluice.Tasks;
using Sluice.Windows;

namespace Sluice.Tests.State;

public sealed class WindowSnapshotTests
{
    private static readonly Serializer<WindowSnapshot<string, long>> Serializer = new ServiceCollection()
        .AddSerializer(b => b.AddAssembly(typeof(WindowSnapshot<,>).Assembly))
        .BuildServiceProvider()
        .GetRequiredService<Serializer<WindowSnapshot<string, long>>>();

    [Fact]
    public void A_restored_operator_continues_exactly_like_the_original_on_random_input()
    {
        var random = new Random(5);
        var records = Enumerable.Range(0, 2_000).Select(i => ($"k{random.Next(30)}", (long)random.Next(1, 9), i * 3L - random.Next(0, 50))).ToList();
        var (original, originalOut) = NewOperator();
        Feed(original, records.Take(1_000), watermarkEvery: 100);

        var blob = original.Snapshot(Serializer, "sum");
        var (restored, restoredOut) = NewOperator();
        restored.Restore(blob, Serializer, "sum");
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

    [Fact]
    public void A_restored_operator_never_goes_back_to_a_lower_watermark_so_a_late_record_stays_late()
    {
        var (original, originalOut) = NewOperator();
        Feed(original, [("a", 1, 10), ("a", 2, 60)], watermarkEvery: 0);
        original.OnWatermark(249);
        Assert.Single(originalOut); // window [0, 100) fired
        var blob = original.Snapshot(Serializer, "sum");

        var (restored, restoredOut) = NewOperator();
        restored.Restore(blob, Serializer, "sum");
        // Inputs restart lower after a restore (a fresh channel, a partition that is no longer idle).
        restored.OnWatermark(4);
        Assert.Equal(249, restored.CurrentWatermark);
        restored.ProcessElement("a", ("a", 5), 50);
        restored.OnWatermark(300);

        Assert.Equal(0, restored.StateEntries);
        Assert.Empty(restoredOut);
    }

    [Fact]
    public void A_corrupted_or_truncated_snapshot_is_detected_and_leaves_state_untouched()
    {
        var (op, _) = NewOperator();
        Feed(op, [("a", 1, 5), ("b", 2, 15)], watermarkEvery: 0);
        var blob = op.Snapshot(Serializer, "sum");

        var (target, _) = NewOperator();
        Feed(target, [("z", 9, 7)], watermarkEvery: 0);
        var flipped = (byte[])blob.Clone();
        flipped[^3] ^= 0x40;
        Assert.Throws<SnapshotCorruptedException>(() => target.Restore(flipped, Serializer, "sum"));
        Assert.Throws<SnapshotCorruptedException>(() => target.Restore(blob.AsMemory(0, blob.Length - 10), Serializer, "sum"));
        Assert.Throws<SnapshotCorruptedException>(() => target.Restore(new byte[3], Serializer, "sum"));
        Assert.Equal(1, target.StateEntries);
    }

    [Fact]
    public void A_snapshot_of_another_schema_is_refused_with_both_schemas_named()
    {
        var (op, _) = NewOperator();
        var blob = op.Snapshot(Serializer, "sum");
        var error = Assert.Throws<SnapshotSchemaMismatchException>(() => op.Restore(blob, Serializer, "renamed"));
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

    private static (WindowOperator<(string Key, long Value), string, long, long, long> Op, List<(long Value, long Timestamp)> Output) NewOperator()
    {
        var pipeline = Pipeline.Create("snapshot");
        pipeline.From(new InMemorySource<(string Key, long Value)>("in", 1))
            .KeyBy(r => r.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(100)))
            .Aggregate(Aggregates.Sum<(string Key, long Value)>(r => r.Value), "sum")
            .SinkTo(new CollectingSink<long>("out"));
        var node = (WindowNode<(string Key, long Value), string, long, long, long>)pipeline.Sinks[0].Input!;
        var output = new ListSink();
        var errors = new UserErrorReporter(NullLogger.Instance, "test", () => 0);
        return (new WindowOperator<(string Key, long Value), string, long, long, long>(node, output, () => 0, new OperatorCounters(), errors), output.Records);
    }

    private sealed class ListSink : IRecordSink<long>
    {
        public List<(long Value, long Timestamp)> Records { get; } = [];

        public void Push(long value, long timestamp) => Records.Add((value, timestamp));
    }
}
