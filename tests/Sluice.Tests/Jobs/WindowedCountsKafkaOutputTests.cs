using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Kafka;
using Sluice.Kafka.Embedded;
using Sluice.Silo.Jobs;
using Sluice.Sinks;
using Sluice.Tests.Recovery;
using Xunit.Abstractions;

namespace Sluice.Tests.Jobs;

/// <summary>
/// The windowed-counts job writing its counts to a Kafka topic exactly once, on two silos over the embedded Kafka, with
/// a silo killed mid-stream. The embedded broker neither filters aborted transactions nor fences, so a transaction cut
/// short by the kill stays visible there: the check is that every record carries its (sink task, epoch), that the distinct
/// counts equal a brute-force count of what was produced, and that no (key, window) was ever written with another count.
/// </summary>
public sealed class WindowedCountsKafkaOutputTests(ITestOutputHelper output) : IDisposable
{
    private const int Partitions = 4;
    private const long WindowMs = 1_000;
    private const long BoundMs = 300;
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-counts-kafka-").FullName;

    [Fact]
    public async Task Counts_written_exactly_once_to_Kafka_equal_the_oracle_after_a_silo_is_killed()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        output.WriteLine($"seed {seed}");
        var options = new WindowedCountsOptions
        {
            PipelineId = "counts-to-kafka",
            InputTopic = "counted-events",
            OutputTopic = "counts",
            OutputGuarantee = DeliveryGuarantee.ExactlyOnce,
            Window = TimeSpan.FromMilliseconds(WindowMs),
            MaxOutOfOrderness = TimeSpan.FromMilliseconds(BoundMs),
            CheckpointInterval = TimeSpan.FromMilliseconds(300),
            MaxParallelism = 8,
        };
        using var kafka = EmbeddedKafka.Start(brokers: 1);
        Assert.Empty(options.Validate(kafka.BootstrapServers));
        kafka.CreateTopic(options.InputTopic, Partitions);
        kafka.CreateTopic(options.OutputTopic!, 2);
        kafka.CreateTopic("_sluice-kafka-commits", 1);

        var events = Events(random, perPartition: 600);
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 2);
        cluster.Register(WindowedCountsJob.Create(options, kafka.BootstrapServers, NullLoggerFactory.Instance));

        Produce(kafka, options.InputTopic, events.Where(e => e.Index < 300));
        await RecoveryScenario.WaitForAsync(() => Read(kafka, options.OutputTopic!, TimeSpan.FromSeconds(1)).Count > 0, TimeSpan.FromSeconds(60), "first counts committed");
        await cluster.CrashSiloAsync(cluster.Cluster.SecondarySilos[0]);
        Produce(kafka, options.InputTopic, events.Where(e => e.Index >= 300));

        // One record per partition far ahead closes every window of the events above.
        var last = events.Max(e => e.Event.Timestamp);
        Produce(kafka, options.InputTopic, Enumerable.Range(0, Partitions).Select(p => (p, -1, new CountedEvent(-1, "end", last + 10_000))));

        var expected = events
            .GroupBy(e => (e.Event.Key, Start: e.Event.Timestamp - (e.Event.Timestamp % WindowMs)))
            .Select(g => new WindowCount(g.Key.Key, g.Key.Start, g.Key.Start + WindowMs, g.Count()))
            .OrderBy(c => c.Key, StringComparer.Ordinal).ThenBy(c => c.WindowStart)
            .ToList();
        List<ConsumeResult<byte[]?, byte[]?>> records = [];
        await RecoveryScenario.WaitForAsync(() =>
        {
            records = Read(kafka, options.OutputTopic!, TimeSpan.FromSeconds(2));
            return Distinct(records).Count >= expected.Count;
        }, TimeSpan.FromSeconds(120), $"{expected.Count} distinct counts");

        Assert.All(records, r => Assert.True(
            r.Message.Headers.TryGetLastBytes(KafkaCommitMarkers.TaskHeader, out _) && r.Message.Headers.TryGetLastBytes(KafkaCommitMarkers.EpochHeader, out _),
            "every record carries its sink task and epoch"));
        var distinct = Distinct(records);
        Assert.Equal(distinct.Count, distinct.Select(c => (c.Key, c.WindowStart)).Distinct().Count()); // never another count for a window
        Assert.Equal(expected, distinct.OrderBy(c => c.Key, StringComparer.Ordinal).ThenBy(c => c.WindowStart).ToList());
        output.WriteLine($"{records.Count} records on the topic, {distinct.Count} distinct counts");
    }

    /// <summary>Per partition increasing time with jitter within the bound (nothing late), 20 keys.</summary>
    private static List<(int Partition, int Index, CountedEvent Event)> Events(Random random, int perPartition)
    {
        var list = new List<(int, int, CountedEvent)>();
        var id = 0L;
        for (var p = 0; p < Partitions; p++)
        {
            var time = 1_700_000_000_000L;
            for (var i = 0; i < perPartition; i++)
            {
                time += random.Next(0, 15);
                list.Add((p, i, new CountedEvent(id++, $"k{random.Next(20)}", time - random.NextInt64(0, BoundMs))));
            }
        }

        return list;
    }

    private static void Produce(EmbeddedKafka kafka, string topic, IEnumerable<(int Partition, int Index, CountedEvent Event)> events)
    {
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, EnableIdempotence = true, Acks = Acks.All, LingerMs = 2 }).Build();
        foreach (var (partition, _, e) in events)
        {
            producer.Produce(new TopicPartition(topic, partition), new Message<byte[]?, byte[]?> { Value = JsonSerializer.SerializeToUtf8Bytes(e, WindowedCountsJson.Default.CountedEvent) });
        }

        producer.Flush(TimeSpan.FromSeconds(30));
    }

    /// <summary>Everything on the output topic, read as documented for exactly-once output: read_committed.</summary>
    private static List<ConsumeResult<byte[]?, byte[]?>> Read(EmbeddedKafka kafka, string topic, TimeSpan quiet)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            GroupId = $"reader-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            IsolationLevel = IsolationLevel.ReadCommitted,
        }).Build();
        consumer.Assign(Enumerable.Range(0, 2).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var results = new List<ConsumeResult<byte[]?, byte[]?>>();
        var lastAt = DateTime.UtcNow;
        while (DateTime.UtcNow - lastAt < quiet)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { IsPartitionEOF: false } r)
            {
                results.Add(r);
                lastAt = DateTime.UtcNow;
            }
        }

        return results;
    }

    private static List<WindowCount> Distinct(List<ConsumeResult<byte[]?, byte[]?>> records) =>
        records.Select(r => JsonSerializer.Deserialize(r.Message.Value, WindowedCountsJson.Default.WindowCount)!)
            .Where(c => c.Key != "end")
            .Distinct()
            .ToList();

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
