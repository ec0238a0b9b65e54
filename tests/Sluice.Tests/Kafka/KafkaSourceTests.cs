using System.Text;
using Confluent.Kafka;
using Sluice.Functions;
using Sluice.Sinks;
using Sluice.Kafka;
using Sluice.Kafka.Embedded;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Sluice.Time;
using Sluice.Windows;

namespace Sluice.Tests.Kafka;

public sealed class KafkaSourceTests
{
    private const long Bound = 300;
    private const long WindowSize = 1_000;

    [Fact]
    public async Task Windows_over_out_of_order_records_from_embedded_kafka_match_the_oracle()
    {
        using var kafka = EmbeddedKafka.Start(brokers: 3);
        kafka.CreateTopic("events", 4);
        var seed = Environment.TickCount;
        var events = KafkaTestData.Events(new Random(seed), partitions: 4, perPartition: 1_500, keys: 20, Bound);
        using (var producer = KafkaTestData.Producer(kafka))
        {
            foreach (var (partition, e) in events)
            {
                producer.Produce(new TopicPartition("events", partition), new Message<byte[]?, byte[]?> { Key = Encoding.UTF8.GetBytes(e.Key), Value = KafkaTestData.Json(e) });
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        await using var cluster = await SluiceCluster.StartAsync(2);
        var sink = new CollectingSink<WindowResult>("results");
        var pipeline = Pipeline.Create("kafka-windows", o => o.MaxParallelism = 16);
        KafkaTestData.WindowCounts(pipeline, kafka, "events", Bound, WindowSize, stopAtEnd: true).SinkTo(sink);
        cluster.Register(pipeline);

        await sink.Completion.WaitAsync(TimeSpan.FromSeconds(90));
        var expected = WindowOracle.Tumbling(events.Select(e => e.Event), WindowSize, 0, AggregateKind.Count);
        WindowOracle.AssertSameMultiset(expected, sink.Values.ToList(), $"seed {seed}");
        var status = await cluster.WaitForStatusAsync("kafka-windows", s => s.RecordsIn == events.Count, TimeSpan.FromSeconds(10), "all records read");
        Assert.Equal(0, status.LateRecordsDropped);
        Assert.Equal(0, status.DeadLetters);
    }

    [Fact]
    public async Task Undeserialisable_records_go_to_the_dead_letter_topic_with_their_offsets_and_the_partition_keeps_flowing()
    {
        using var kafka = EmbeddedKafka.Start(brokers: 3);
        kafka.CreateTopic("mixed", 4);
        kafka.CreateTopic("mixed-dlq", 1);
        var random = new Random(7);
        var valid = KafkaTestData.Events(random, partitions: 4, perPartition: 1_000, keys: 10, Bound);
        var badOffsets = new HashSet<(int Partition, long Offset)>();
        using (var producer = KafkaTestData.Producer(kafka))
        {
            var queue = new Queue<(int Partition, Event Event)>(valid);
            var bad = 0;
            while (queue.Count > 0 || bad < 10_000)
            {
                if (bad < 10_000 && (queue.Count == 0 || random.Next(3) > 0))
                {
                    var payload = new byte[random.Next(1, 64)];
                    random.NextBytes(payload);
                    payload[0] = 0xFF; // never valid UTF-8, so never valid JSON
                    var partition = random.Next(4);
                    var report = await producer.ProduceAsync(new TopicPartition("mixed", partition), new Message<byte[]?, byte[]?> { Value = payload });
                    badOffsets.Add((partition, report.Offset.Value));
                    bad++;
                }
                else
                {
                    var (partition, e) = queue.Dequeue();
                    producer.Produce(new TopicPartition("mixed", partition), new Message<byte[]?, byte[]?> { Value = KafkaTestData.Json(e) });
                }
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        await using var cluster = await SluiceCluster.StartAsync(1);
        var sink = new CollectingSink<WindowResult>("results");
        var pipeline = Pipeline.Create("kafka-dead-letters", o => o.MaxParallelism = 8);
        KafkaTestData.WindowCounts(pipeline, kafka, "mixed", Bound, WindowSize, stopAtEnd: true, deadLetterTopic: "mixed-dlq").SinkTo(sink);
        cluster.Register(pipeline);

        await sink.Completion.WaitAsync(TimeSpan.FromSeconds(120));
        WindowOracle.AssertSameMultiset(WindowOracle.Tumbling(valid.Select(v => v.Event), WindowSize, 0, AggregateKind.Count), sink.Values.ToList(), "valid records");

        var status = await cluster.WaitForStatusAsync("kafka-dead-letters", s => s.DeadLetters == 10_000, TimeSpan.FromSeconds(15), "10,000 dead letters counted");
        Assert.Equal(valid.Count + 10_000, status.RecordsIn + status.DeadLetters);

        var dead = KafkaTestData.ReadAll(kafka, "mixed-dlq", 1, 10_000, TimeSpan.FromSeconds(60));
        var deadOffsets = dead
            .Select(d => (int.Parse(Header(d, KafkaDeadLetters.PartitionHeader), System.Globalization.CultureInfo.InvariantCulture),
                          long.Parse(Header(d, KafkaDeadLetters.OffsetHeader), System.Globalization.CultureInfo.InvariantCulture)))
            .ToHashSet();
        Assert.Equal(10_000, dead.Count);
        Assert.True(badOffsets.SetEquals(deadOffsets), "the dead-letter topic must hold exactly the bad records' offsets");
        Assert.All(dead, d => Assert.Equal("mixed", Header(d, KafkaDeadLetters.TopicHeader)));
        Assert.All(dead, d => Assert.False(string.IsNullOrEmpty(Header(d, KafkaDeadLetters.ErrorHeader))));
    }

    private static string Header(ConsumeResult<byte[]?, byte[]?> record, string name) =>
        Encoding.UTF8.GetString(record.Message.Headers.GetLastBytes(name));
}
