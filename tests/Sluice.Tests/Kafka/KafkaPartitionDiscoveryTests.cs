using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Sluice.Grains;
using Sluice.Kafka;
using Sluice.Kafka.Embedded;
using Sluice.Sources;
using Sluice.Tests.Properties;
using Sluice.Tests.Recovery;
using Xunit.Abstractions;

namespace Sluice.Tests.Kafka;

/// <summary>
/// Partitions added to a topic while a pipeline reads it are picked up (within the source's MaxPartitions slots), read
/// from their beginning and checkpointed like the others; partitions beyond the slots are reported, not ignored silently.
/// The mock cluster has no CreatePartitions, so there the topic grows by being deleted and created again while empty;
/// a real broker (SLUICE_KAFKA_BOOTSTRAP) grows a topic that already holds records.
/// </summary>
public sealed class KafkaPartitionDiscoveryTests(ITestOutputHelper output) : IDisposable
{
    private const int PerRound = 30;
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-kafka-discovery-").FullName;

    [Fact]
    public async Task Partitions_added_at_run_time_are_read_from_the_beginning_and_survive_a_restore()
    {
        using var kafka = EmbeddedKafka.Start(brokers: 1);
        kafka.CreateTopic("growing", 2);
        await RunAsync(kafka.BootstrapServers, "growing", recordsBeforeGrowth: false, grow: () =>
        {
            kafka.DeleteTopic("growing");
            kafka.CreateTopic("growing", 4);
            return Task.CompletedTask;
        });
    }

    [SkippableFact]
    public async Task Partitions_added_to_a_topic_with_records_are_picked_up_on_a_real_broker()
    {
        var bootstrap = Environment.GetEnvironmentVariable("SLUICE_KAFKA_BOOTSTRAP");
        Skip.If(string.IsNullOrEmpty(bootstrap), "needs a real Kafka broker: set SLUICE_KAFKA_BOOTSTRAP=host:port (the embedded mock cluster has no CreatePartitions)");
        var topic = $"growing-{Guid.NewGuid():N}";
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 2, ReplicationFactor = 1 }]);
        await RunAsync(bootstrap!, topic, recordsBeforeGrowth: true, grow: () =>
            admin.CreatePartitionsAsync([new PartitionsSpecification { Topic = topic, IncreaseTo = 4 }]));
    }

    [Fact]
    public async Task A_topic_that_outgrows_the_sources_partitions_is_reported_naming_the_setting()
    {
        using var kafka = EmbeddedKafka.Start(brokers: 1);
        kafka.CreateTopic("outgrown", 2);
        var source = new KafkaSource<Event>("outgrown", new KafkaSourceOptions
        {
            Topic = "outgrown",
            BootstrapServers = kafka.BootstrapServers,
            PartitionDiscoveryInterval = TimeSpan.FromMilliseconds(100),
        }, KafkaFormats.Json(KafkaTestJson.Default.Event));
        Assert.Equal(2, source.Partitions);
        var reader = source.OpenReader(0);
        var status = (ISourceReaderStatus)reader;
        kafka.DeleteTopic("outgrown");
        kafka.CreateTopic("outgrown", 3);

        await RecoveryScenario.WaitForAsync(() =>
        {
            reader.Read(100, new Discard(), 0);
            return status.LastError is not null;
        }, TimeSpan.FromSeconds(30), "the grown topic reported");
        Assert.Contains(nameof(KafkaSourceOptions.MaxPartitions), status.LastError, StringComparison.Ordinal);
        Assert.Contains("partitions 2..2 are not read", status.LastError, StringComparison.Ordinal);
        (reader as IDisposable)?.Dispose();
    }

    [Fact]
    public void Max_partitions_below_one_is_refused_naming_the_setting()
    {
        var options = new KafkaSourceOptions { Topic = "t", BootstrapServers = "127.0.0.1:1", MaxPartitions = 0 };
        var error = Assert.Throws<KafkaConfigurationException>(() => new KafkaSource<Event>("t", options, KafkaFormats.Json(KafkaTestJson.Default.Event)));
        Assert.Contains(nameof(KafkaSourceOptions.MaxPartitions), error.Message, StringComparison.Ordinal);
    }

    private async Task RunAsync(string bootstrap, string topic, bool recordsBeforeGrowth, Func<Task> grow)
    {
        var sink = new CommittingSink<long>("ids");
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 1);
        var pipeline = Pipeline.Create($"discovery-{Guid.NewGuid():N}", RecoveryScenario.Checkpointed);
        pipeline.FromKafka(topic, KafkaFormats.Json(KafkaTestJson.Default.Event), o =>
            {
                o.BootstrapServers = bootstrap;
                o.MaxPartitions = 4;
                o.PartitionDiscoveryInterval = TimeSpan.FromMilliseconds(200);
            })
            .Map(e => (long)e.Value)
            .SinkTo(sink);
        cluster.Register(pipeline);
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>(pipeline.Id);

        // The two slots without a partition take part in checkpoints (at offset 0) instead of stalling them.
        await RecoveryScenario.WaitForAsync(async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 2, TimeSpan.FromSeconds(60), "2 checkpoints before the topic grows");
        var expected = new List<long>();
        if (recordsBeforeGrowth)
        {
            expected.AddRange(Produce(bootstrap, topic, partitions: 2, round: 0));
            await RecoveryScenario.WaitForAsync(() => sink.Committed().Count >= expected.Count, TimeSpan.FromSeconds(60), "records of the 2 partitions committed");
        }

        await grow();
        expected.AddRange(Produce(bootstrap, topic, partitions: 4, round: 1));
        await RecoveryScenario.WaitForAsync(() => sink.Committed().Count >= expected.Count, TimeSpan.FromSeconds(60), $"{expected.Count} records of 4 partitions committed");

        // A restart restores the new partitions' offsets from the checkpoint: nothing read twice, nothing lost.
        sink.FailNextPrepare();
        expected.AddRange(Produce(bootstrap, topic, partitions: 4, round: 2));
        await RecoveryScenario.WaitForAsync(async () => sink.PreparesFailed > 0 && (await coordinator.GetRecoveryAsync()).Restarts > 0, TimeSpan.FromSeconds(60), "the restart after the failed prepare");
        await RecoveryScenario.WaitForAsync(() => sink.Committed().Count >= expected.Count, TimeSpan.FromSeconds(60), $"{expected.Count} records committed after the restart");

        var committed = sink.Committed();
        committed.Sort();
        expected.Sort();
        output.WriteLine($"{committed.Count} committed; restored from {(await coordinator.GetRecoveryAsync()).RestoredFrom}");
        Assert.Equal(expected, committed);
        var status = await cluster.StatusAsync(pipeline.Id);
        Assert.Equal(4, status.Sources.Count);
    }

    private static List<long> Produce(string bootstrap, string topic, int partitions, int round)
    {
        var ids = new List<long>();
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = bootstrap, EnableIdempotence = true, Acks = Acks.All, LingerMs = 2 }).Build();
        for (var p = 0; p < partitions; p++)
        {
            for (var i = 0; i < PerRound; i++)
            {
                var id = (round * 100_000L) + (p * 1_000L) + i;
                ids.Add(id);
                producer.Produce(new TopicPartition(topic, p), new Message<byte[]?, byte[]?> { Value = KafkaTestData.Json(new Event("k", id, id)) });
            }
        }

        producer.Flush(TimeSpan.FromSeconds(30));
        return ids;
    }

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

    private sealed class Discard : ISourceOutput<Event>
    {
        public Exception? Record(Event value, long timestamp) => null;

        public void Watermark(long watermark)
        {
        }

        public void Idle()
        {
        }
    }
}
