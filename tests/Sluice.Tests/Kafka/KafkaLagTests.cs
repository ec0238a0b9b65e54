using System.Diagnostics.Metrics;
using Confluent.Kafka;
using Sluice.Kafka;
using Sluice.Kafka.Embedded;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;

namespace Sluice.Tests.Kafka;

/// <summary>Consumer lag per partition (high watermark minus position): in the pipeline status and as a metric.</summary>
public sealed class KafkaLagTests
{
    [Fact]
    public async Task Lag_is_the_high_watermark_minus_the_position_in_the_reader_and_the_metric()
    {
        using var kafka = EmbeddedKafka.Start(brokers: 1);
        var topic = $"lagging-{Guid.NewGuid():N}";
        kafka.CreateTopic(topic, 2);
        Produce(kafka, topic, partition: 1, from: 0, count: 100);

        var source = new KafkaSource<Event>(topic, new KafkaSourceOptions { Topic = topic, BootstrapServers = kafka.BootstrapServers, GroupId = "lag-metric" }, KafkaFormats.Json(KafkaTestJson.Default.Event));
        var reader = source.OpenReader(1);
        var output = new Count();
        await WaitForAsync(() => reader.Read(0, output, 0).Backlog == 100, "the consumer to see 100 records waiting");

        Assert.Equal(70, reader.Read(30, output, 0).Backlog);
        Assert.Equal(30, output.Records);
        Assert.Equal(30, ((ISeekableSourceReader)reader).Position);
        Assert.Equal(100, ((ISourceReaderStatus)reader).EndPosition);
        Assert.Equal(70, ObserveLag(topic, partition: 1, group: "lag-metric"));

        await WaitForAsync(() => reader.Read(1_000, output, 0).Backlog == 0 && output.Records == 100, "the rest read");
        Assert.Equal(0, ObserveLag(topic, partition: 1, group: "lag-metric"));

        Produce(kafka, topic, partition: 1, from: 100, count: 25);
        await WaitForAsync(() => ObserveLag(topic, partition: 1, group: "lag-metric") == 25, "the lag metric to show 25 new records");

        (reader as IDisposable)?.Dispose();
        Assert.Null(ObserveLag(topic, partition: 1, group: "lag-metric"));
    }

    [Fact]
    public async Task Pipeline_status_shows_each_partitions_position_high_watermark_and_lag()
    {
        using var kafka = EmbeddedKafka.Start(brokers: 1);
        kafka.CreateTopic("status-lag", 2);
        Produce(kafka, "status-lag", partition: 0, from: 0, count: 60);
        Produce(kafka, "status-lag", partition: 1, from: 0, count: 15);

        await using var cluster = await SluiceCluster.StartAsync(1);
        var sink = new CollectingSink<long>("ids");
        var pipeline = Pipeline.Create("kafka-lag-status", o => o.MaxParallelism = 4);
        pipeline.FromKafka("status-lag", KafkaFormats.Json(KafkaTestJson.Default.Event), o => o.BootstrapServers = kafka.BootstrapServers)
            .Map(e => (long)e.Value)
            .SinkTo(sink);
        cluster.Register(pipeline);

        var status = await cluster.WaitForStatusAsync(pipeline.Id, s => Matches(s, [60, 15]), TimeSpan.FromSeconds(60), "positions 60 and 15");
        Assert.All(status.Sources, s => Assert.Equal(0, s.Backlog));

        Produce(kafka, "status-lag", partition: 1, from: 15, count: 30);
        await cluster.WaitForStatusAsync(pipeline.Id, s => Matches(s, [60, 45]), TimeSpan.FromSeconds(60), "partition 1 at 45");

        static bool Matches(Grains.PipelineStatus s, long[] ends) =>
            s.Sources.Count == ends.Length
            && s.Sources.All(p => p.EndPosition == ends[p.Partition] && p.Position == ends[p.Partition] && p.Backlog == p.EndPosition - p.Position);
    }

    [Fact]
    public async Task On_a_transactional_topic_lag_reaches_zero_past_the_commit_markers_and_a_bounded_read_ends()
    {
        using var kafka = EmbeddedKafka.Start(brokers: 1);
        var topic = $"transactional-{Guid.NewGuid():N}";
        kafka.CreateTopic(topic, 1);
        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, TransactionalId = topic }).Build())
        {
            producer.InitTransactions(TimeSpan.FromSeconds(30));
            for (var t = 0; t < 3; t++)
            {
                producer.BeginTransaction();
                for (var i = 0; i < 10; i++)
                {
                    producer.Produce(topic, new Message<byte[]?, byte[]?> { Value = KafkaTestData.Json(new Event("k", i, i)) });
                }

                producer.CommitTransaction(TimeSpan.FromSeconds(30));
            }
        }

        // Each commit leaves a control record: the partition ends at 33 while its last record is at 29.
        var source = new KafkaSource<Event>(topic, new KafkaSourceOptions { Topic = topic, BootstrapServers = kafka.BootstrapServers, StopAtEndOffsets = true }, KafkaFormats.Json(KafkaTestJson.Default.Event));
        var reader = source.OpenReader(0);
        var output = new Count();
        var result = default(SourceReadResult);
        await WaitForAsync(() => (result = reader.Read(1_000, output, 0)).Ended, "the bounded read to end");
        Assert.Equal(30, output.Records);
        Assert.Equal(0, result.Backlog);
        Assert.Equal(33, ((ISourceReaderStatus)reader).EndPosition);
        Assert.Equal(0, ObserveLag(topic, partition: 0, group: "sluice"));
        (reader as IDisposable)?.Dispose();
    }

    private static long? ObserveLag(string topic, int partition, string group)
    {
        long? lag = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Sluice" && instrument.Name == "sluice.kafka.consumer.lag")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? t = null, g = null;
            int? p = null;
            foreach (var tag in tags)
            {
                switch (tag.Key)
                {
                    case "topic": t = tag.Value as string; break;
                    case "partition": p = tag.Value as int?; break;
                    case "consumer_group": g = tag.Value as string; break;
                }
            }

            if (t == topic && p == partition && g == group)
            {
                lag = value;
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return lag;
    }

    private static void Produce(EmbeddedKafka kafka, string topic, int partition, int from, int count)
    {
        using var producer = KafkaTestData.Producer(kafka);
        for (var i = from; i < from + count; i++)
        {
            producer.Produce(new TopicPartition(topic, partition), new Message<byte[]?, byte[]?> { Value = KafkaTestData.Json(new Event("k", i, i)) });
        }

        producer.Flush(TimeSpan.FromSeconds(30));
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what} did not happen within 30 s");
            }

            await Task.Delay(50);
        }
    }

    private sealed class Count : ISourceOutput<Event>
    {
        public int Records { get; private set; }

        public Exception? Record(Event value, long timestamp)
        {
            Records++;
            return null;
        }

        public void Watermark(long watermark)
        {
        }

        public void Idle()
        {
        }
    }
}
