using Confluent.Kafka;
using Sluice.Grains;
using Sluice.Kafka;
using Sluice.Kafka.Embedded;
using Sluice.Tests.Properties;
using Sluice.Tests.Recovery;
using Xunit.Abstractions;

namespace Sluice.Tests.Kafka;

/// <summary>
/// A partition checkpointed before its first record: the checkpoint records the offset its start position resolved to,
/// not "unknown", so a restart resumes there and what was produced in between is read again, not skipped.
/// </summary>
public sealed class KafkaStartPositionTests(ITestOutputHelper output) : IDisposable
{
    private const string Topic = "quiet";
    private const int Records = 50;
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-kafka-start-").FullName;

    [Fact]
    public async Task Records_produced_after_a_quiet_partition_was_checkpointed_at_Latest_are_committed_after_a_restart()
    {
        using var kafka = EmbeddedKafka.Start(brokers: 1);
        kafka.CreateTopic(Topic, 1);
        var sink = new CommittingSink<long>("ids");
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 1);
        var pipeline = Pipeline.Create("kafka-latest", RecoveryScenario.Checkpointed);
        pipeline.FromKafka(Topic, KafkaFormats.Json(KafkaTestJson.Default.Event), o =>
            {
                o.BootstrapServers = kafka.BootstrapServers;
                o.StartPosition = KafkaStartPosition.Latest;
                o.StopAtEndOffsets = false;
            })
            .Map(e => (long)e.Value)
            .SinkTo(sink);
        cluster.Register(pipeline);
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>(pipeline.Id);
        await RecoveryScenario.WaitForAsync(async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 2, TimeSpan.FromSeconds(30), "2 checkpoints of the quiet partition");

        // The first epoch with records fails to prepare: the pipeline restarts from a checkpoint taken before them.
        sink.FailNextPrepare();
        using (var producer = KafkaTestData.Producer(kafka))
        {
            for (var id = 1; id <= Records; id++)
            {
                producer.Produce(new TopicPartition(Topic, 0), new Message<byte[]?, byte[]?> { Value = KafkaTestData.Json(new Event("k", id, id)) });
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        await RecoveryScenario.WaitForAsync(async () => sink.PreparesFailed > 0 && (await coordinator.GetRecoveryAsync()).Restarts > 0, TimeSpan.FromSeconds(30), "the restart after the failed prepare");
        try
        {
            await RecoveryScenario.WaitForAsync(() => sink.Committed().Count >= Records, TimeSpan.FromSeconds(20), $"{Records} committed records");
        }
        catch (TimeoutException ex)
        {
            output.WriteLine(ex.Message);
        }

        var recovery = await coordinator.GetRecoveryAsync();
        var committed = sink.Committed();
        output.WriteLine($"attempt {recovery.Attempt}, restored from {recovery.RestoredFrom}; {committed.Count} committed");
        committed.Sort();
        Assert.Equal(Enumerable.Range(1, Records).Select(i => (long)i), committed);
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
}
