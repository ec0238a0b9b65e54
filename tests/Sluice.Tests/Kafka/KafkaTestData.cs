using System.Text.Json;
using System.Text.Json.Serialization;
using Confluent.Kafka;
using Sluice.Functions;
using Sluice.Kafka;
using Sluice.Kafka.Embedded;
using Sluice.Tests.Properties;
using Sluice.Time;
using Sluice.Windows;

namespace Sluice.Tests.Kafka;

[JsonSerializable(typeof(Event))]
[JsonSerializable(typeof(WindowResult))]
internal sealed partial class KafkaTestJson : JsonSerializerContext;

/// <summary>Writes test events to the embedded Kafka and reads topics back.</summary>
internal static class KafkaTestData
{
    /// <summary>
    /// Out-of-order events for <paramref name="partitions"/> partitions: per partition an increasing base time
    /// minus a jitter within <paramref name="bound"/>, so no event is beyond the watermark's bound.
    /// </summary>
    public static List<(int Partition, Event Event)> Events(Random random, int partitions, int perPartition, int keys, long bound)
    {
        var list = new List<(int, Event)>();
        for (var p = 0; p < partitions; p++)
        {
            var time = 1_000L;
            for (var i = 0; i < perPartition; i++)
            {
                time += random.Next(0, 20);
                list.Add((p, new Event($"k{random.Next(keys)}", time - random.NextInt64(0, bound + 1), random.Next(1, 10))));
            }
        }

        return list;
    }

    /// <summary>
    /// The window pipeline most Kafka tests run: JSON events from <paramref name="topic"/>, timestamps with the
    /// given bound, then a count per key and tumbling window.
    /// </summary>
    public static DataStream<WindowResult> WindowCounts(
        Pipeline pipeline, EmbeddedKafka kafka, string topic, long bound, long windowSize, bool stopAtEnd, string? deadLetterTopic = null) =>
        pipeline.FromKafka(topic, KafkaFormats.Json(KafkaTestJson.Default.Event), o =>
            {
                o.BootstrapServers = kafka.BootstrapServers;
                o.StopAtEndOffsets = stopAtEnd;
                o.DeadLetterTopic = deadLetterTopic;
            })
            .WithTimestamps(e => e.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(bound)))
            .KeyBy(e => e.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(windowSize)))
            .Aggregate(Aggregates.Count<Event>(), (key, window, count) => new WindowResult(key, window.Start, window.End, count));

    public static IProducer<byte[]?, byte[]?> Producer(EmbeddedKafka kafka) =>
        new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, EnableIdempotence = true, Acks = Acks.All, LingerMs = 2 }).Build();

    public static byte[] Json(Event e) => JsonSerializer.SerializeToUtf8Bytes(e, KafkaTestJson.Default.Event);

    /// <summary>Reads every partition of a topic from the beginning until <paramref name="expected"/> messages arrived or the timeout passed.</summary>
    public static List<ConsumeResult<byte[]?, byte[]?>> ReadAll(EmbeddedKafka kafka, string topic, int partitions, int expected, TimeSpan timeout)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            GroupId = $"reader-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
        }).Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var results = new List<ConsumeResult<byte[]?, byte[]?>>();
        var deadline = DateTime.UtcNow + timeout;
        while (results.Count < expected && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false } r)
            {
                results.Add(r);
            }
        }

        return results;
    }
}
