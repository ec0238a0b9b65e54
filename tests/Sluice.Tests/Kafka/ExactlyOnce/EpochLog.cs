using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Sluice.Functions;
using Sluice.Kafka;
using Sluice.Kafka.Embedded;
using Sluice.Sinks;

namespace Sluice.Tests.Kafka.ExactlyOnce;

/// <summary>
/// The output of exactly-once Kafka sinks on the embedded broker, read per (sink task, epoch) from the records' headers:
/// the mock keeps the records of aborted transactions visible, so an epoch may appear more than once, and each copy must
/// equal the epoch's records.
/// </summary>
internal static class EpochLog
{
    public const string Output = "out";
    public const string Markers = "_sluice-kafka-commits";
    public const string Prefix = "test";
    public const string SinkName = "out";

    public static EmbeddedKafka Start()
    {
        var kafka = EmbeddedKafka.Start(brokers: 3);
        kafka.CreateTopic(Output, 2);
        kafka.CreateTopic(Markers, 1);
        return kafka;
    }

    public static string TransactionalId(string pipeline, int task) => $"{Prefix}-{pipeline}-{SinkName}-{task}";

    public static KafkaSink<string> Sink(EmbeddedKafka kafka, int parallelism = 1) =>
        new(SinkName, Options(kafka.BootstrapServers), Serializers.Utf8, v => v, parallelism);

    public static KafkaSinkOptions Options(string bootstrap, string topic = Output, string markers = Markers) => new()
    {
        BootstrapServers = bootstrap,
        Topic = topic,
        CommitMarkerTopic = markers,
        Guarantee = DeliveryGuarantee.ExactlyOnce,
        TransactionalIdPrefix = Prefix,
        TransactionTimeout = TimeSpan.FromSeconds(30),
    };

    public static ITransactionalSink<string> Writer(EmbeddedKafka kafka, string pipeline, int task) =>
        (ITransactionalSink<string>)Sink(kafka).CreateWriter(pipeline, task);

    public static List<string> WriteEpoch(ITransactionalSink<string> writer, long epoch, int count)
    {
        var records = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            var value = $"e{epoch}-r{i}";
            writer.Write(value, new SinkContext("p", 0, 1_000 * epoch + i, long.MinValue));
            records.Add(value);
        }

        return records;
    }

    /// <summary>One writer of task <paramref name="task"/> writes, prepares and commits epochs <paramref name="from"/>..<paramref name="to"/>.</summary>
    public static async Task<Dictionary<long, List<string>>> CommitEpochsAsync(KafkaSink<string> sink, string pipeline, int task, long from, long to)
    {
        var writer = (ITransactionalSink<string>)sink.CreateWriter(pipeline, task);
        var expected = new Dictionary<long, List<string>>();
        try
        {
            for (var epoch = from; epoch <= to; epoch++)
            {
                expected[epoch] = WriteEpoch(writer, epoch, 5 + (int)(epoch * 7 % 23));
                var handle = (await writer.PrepareAsync(epoch, CancellationToken.None))!;
                await writer.CommitAsync(epoch, handle, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(120));
            }
        }
        finally
        {
            ((IDisposable)writer).Dispose();
        }

        return expected;
    }

    /// <summary>
    /// Every epoch of <paramref name="expected"/> (and no other) is in the output of sink task <paramref name="task"/>; each
    /// copy of it holds exactly its records; it has a commit marker. Returns how many copies each epoch has.
    /// </summary>
    public static Dictionary<long, int> AssertEveryCopyEqualsItsEpoch(EmbeddedKafka kafka, Dictionary<long, List<string>> expected, int task)
    {
        var taskText = task.ToString(CultureInfo.InvariantCulture);
        var byEpoch = Read(kafka.BootstrapServers, Output, 2)
            .Where(r => r.Task == taskText)
            .GroupBy(r => r.Epoch)
            .ToDictionary(g => g.Key, g => g.Select(r => r.Value).ToList());
        Assert.Equal(expected.Keys.Order(), byEpoch.Keys.Order());
        var copies = new Dictionary<long, int>();
        foreach (var (epoch, records) in expected)
        {
            copies[epoch] = AssertCopiesOf(epoch, records, byEpoch[epoch]);
        }

        var markers = Read(kafka.BootstrapServers, Markers, 1)
            .Where(r => r.Key is { } key && key.Split('/')[2] == taskText)
            .Select(r => r.Epoch)
            .Distinct()
            .Order()
            .ToList();
        Assert.Equal(expected.Keys.Order(), markers);
        return copies;
    }

    /// <summary><paramref name="actual"/> is k ≥ 1 whole copies of <paramref name="expected"/>; returns k.</summary>
    public static int AssertCopiesOf<TRecord>(long epoch, IReadOnlyCollection<TRecord> expected, IReadOnlyCollection<TRecord> actual)
        where TRecord : notnull
    {
        var once = expected.GroupBy(r => r).ToDictionary(g => g.Key, g => g.Count());
        var seen = actual.GroupBy(r => r).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(once.Keys.ToHashSet().SetEquals(seen.Keys), $"epoch {epoch}: records {string.Join(", ", seen.Keys.Except(once.Keys).Take(5))} not expected, {string.Join(", ", once.Keys.Except(seen.Keys).Take(5))} missing");
        var copies = actual.Count / Math.Max(1, expected.Count);
        Assert.True(copies >= 1 && once.All(e => seen[e.Key] == e.Value * copies), $"epoch {epoch}: {actual.Count} records are not whole copies of its {expected.Count}");
        return copies;
    }

    public sealed record OutputRecord(string? Task, long Epoch, string? Key, string Value);

    /// <summary>Every record of the topic (read_uncommitted: what the mock serves anyway), with its sink task and epoch headers.</summary>
    public static List<OutputRecord> Read(string bootstrap, string topic, int partitions, IsolationLevel isolation = IsolationLevel.ReadUncommitted)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = $"reader-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            IsolationLevel = isolation,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var results = new List<OutputRecord>();
        var ended = new HashSet<int>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (ended.Count < partitions && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is not { } r)
            {
                continue;
            }

            if (r.IsPartitionEOF)
            {
                ended.Add(r.Partition.Value);
                continue;
            }

            var epochText = Header(r, KafkaCommitMarkers.EpochHeader);
            results.Add(new OutputRecord(
                Header(r, KafkaCommitMarkers.TaskHeader),
                epochText is null ? -1 : long.Parse(epochText, CultureInfo.InvariantCulture),
                r.Message.Key is { } k ? Encoding.UTF8.GetString(k) : null,
                r.Message.Value is { } v ? Encoding.UTF8.GetString(v) : string.Empty));
        }

        Assert.True(ended.Count == partitions, $"reading '{topic}' did not reach the end of every partition within 60 s");
        return results;
    }

    private static string? Header(ConsumeResult<byte[]?, byte[]?> record, string name) =>
        record.Message.Headers is { } headers && headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : null;
}
