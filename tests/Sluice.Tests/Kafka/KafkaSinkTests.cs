using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Sluice.Functions;
using Sluice.Grains;
using Sluice.Kafka;
using Sluice.Kafka.Embedded;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Sluice.Time;
using Sluice.Windows;

namespace Sluice.Tests.Kafka;

public sealed class KafkaSinkTests
{
    [Fact]
    public async Task Kafka_to_kafka_window_results_land_in_the_output_topic_as_the_oracle_computes_them()
    {
        using var kafka = EmbeddedKafka.Start(brokers: 3);
        kafka.CreateTopic("clicks", 4);
        kafka.CreateTopic("counts", 2);
        var events = KafkaTestData.Events(new Random(11), partitions: 4, perPartition: 800, keys: 12, bound: 200);
        using (var producer = KafkaTestData.Producer(kafka))
        {
            foreach (var (partition, e) in events)
            {
                producer.Produce(new TopicPartition("clicks", partition), new Message<byte[]?, byte[]?> { Value = KafkaTestData.Json(e) });
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        await using var cluster = await SluiceCluster.StartAsync(1);
        var pipeline = Pipeline.Create("kafka-to-kafka", o => o.MaxParallelism = 8);
        KafkaTestData.WindowCounts(pipeline, kafka, "clicks", bound: 200, windowSize: 500, stopAtEnd: true)
            .ToKafka("counts", KafkaFormats.Json(KafkaTestJson.Default.WindowResult), r => r.Key, o => o.BootstrapServers = kafka.BootstrapServers);
        cluster.Register(pipeline);

        await cluster.WaitForStatusAsync("kafka-to-kafka", s => s.State == PipelineState.Finished, TimeSpan.FromSeconds(90), "the pipeline finishing");
        var expected = WindowOracle.Tumbling(events.Select(e => e.Event), 500, 0, AggregateKind.Count);
        var written = KafkaTestData.ReadAll(kafka, "counts", 2, expected.Count, TimeSpan.FromSeconds(30));
        var results = written.Select(r => JsonSerializer.Deserialize(r.Message.Value, KafkaTestJson.Default.WindowResult)).ToList();

        WindowOracle.AssertSameMultiset(expected, results, "output topic");
        Assert.All(written, r => Assert.Equal(
            JsonSerializer.Deserialize(r.Message.Value, KafkaTestJson.Default.WindowResult).Key, Encoding.UTF8.GetString(r.Message.Key!)));
        Assert.All(written, r => Assert.Equal(
            JsonSerializer.Deserialize(r.Message.Value, KafkaTestJson.Default.WindowResult).End - 1, r.Message.Timestamp.UnixTimestampMs));
    }
}
