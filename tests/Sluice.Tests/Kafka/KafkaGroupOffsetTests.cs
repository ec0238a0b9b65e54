using System.Text.Json;
using Confluent.Kafka;
using Sluice.Checkpointing;
using Sluice.Grains;
using Sluice.Kafka;
using Sluice.Kafka.Embedded;
using Sluice.Tests.Properties;
using Sluice.Tests.Recovery;
using Xunit.Abstractions;

namespace Sluice.Tests.Kafka;

/// <summary>
/// The source commits each partition's checkpointed offset to its consumer group after the checkpoint completes, so
/// standard lag tools see the pipeline's progress; a restore never reads those offsets back (the checkpoint decides).
/// </summary>
public sealed class KafkaGroupOffsetTests(ITestOutputHelper output) : IDisposable
{
    private const string Topic = "monitored";
    private const string Group = "lag-tools";
    private const int Partitions = 2;
    private const int PerRound = 40;
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-kafka-group-").FullName;

    [Fact]
    public void Without_a_group_id_each_pipeline_commits_to_a_group_of_its_own()
    {
        var unset = new KafkaSourceOptions { Topic = "t", BootstrapServers = "127.0.0.1:1" };
        Assert.Equal("sluice-clicks", KafkaClients.Consumer(unset, "clicks").GroupId);
        Assert.Equal("sluice-orders", KafkaClients.Consumer(unset, "orders").GroupId);
        Assert.Empty(unset.Validate());
        var set = new KafkaSourceOptions { Topic = "t", BootstrapServers = "127.0.0.1:1", GroupId = Group };
        Assert.Equal(Group, KafkaClients.Consumer(set, "clicks").GroupId);
    }

    [Fact]
    public async Task Group_offsets_advance_to_the_checkpointed_positions_and_a_restore_ignores_them()
    {
        using var kafka = EmbeddedKafka.Start(brokers: 1);
        kafka.CreateTopic(Topic, Partitions);
        Produce(kafka, round: 0);

        var sink = new CommittingSink<long>("ids");
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 1);
        var pipeline = Pipeline.Create("kafka-group-offsets", RecoveryScenario.Checkpointed);
        pipeline.FromKafka(Topic, KafkaFormats.Json(KafkaTestJson.Default.Event), o =>
            {
                o.BootstrapServers = kafka.BootstrapServers;
                o.GroupId = Group;
            })
            .Map(e => (long)e.Value)
            .SinkTo(sink);
        cluster.Register(pipeline);
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>(pipeline.Id);

        // Every record read and checkpointed: the group's offsets become the positions the newest checkpoint recorded.
        await RecoveryScenario.WaitForAsync(() => GroupOffsets(kafka).All(o => o == PerRound), TimeSpan.FromSeconds(60), $"group offsets at {PerRound}");
        var checkpointed = NewestCheckpointPositions(pipeline.Id);
        Assert.Equal(Enumerable.Repeat((long)PerRound, Partitions), checkpointed);
        Assert.Equal(checkpointed, GroupOffsets(kafka));
        Assert.Equal(Ids(rounds: 1), Sorted(sink.Committed()));

        // Someone moves the group's offsets (a tool resetting them); then the pipeline restarts from its checkpoint. Read
        // from the group, partition 0 would be read again from 0 (duplicates) and partition 1 would skip round 1 (loss).
        using (var tool = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = Group }).Build())
        {
            tool.Commit([new TopicPartitionOffset(Topic, 0, 0), new TopicPartitionOffset(Topic, 1, 2 * PerRound)]);
        }

        Assert.Equal([0L, 2L * PerRound], GroupOffsets(kafka));
        sink.FailNextPrepare();
        Produce(kafka, round: 1);
        await RecoveryScenario.WaitForAsync(async () => sink.PreparesFailed > 0 && (await coordinator.GetRecoveryAsync()).Restarts > 0, TimeSpan.FromSeconds(60), "the restart after the failed prepare");
        await RecoveryScenario.WaitForAsync(() => sink.Committed().Count >= Partitions * PerRound * 2, TimeSpan.FromSeconds(60), "both rounds committed");
        var recovery = await coordinator.GetRecoveryAsync();
        output.WriteLine($"attempt {recovery.Attempt}, restored from {recovery.RestoredFrom}");
        Assert.Equal(Ids(rounds: 2), Sorted(sink.Committed()));

        // And the group follows the pipeline again once checkpoints of the new attempt complete.
        await RecoveryScenario.WaitForAsync(() => GroupOffsets(kafka).All(o => o == 2 * PerRound), TimeSpan.FromSeconds(60), $"group offsets at {2 * PerRound}");
    }

    private static void Produce(EmbeddedKafka kafka, int round)
    {
        using var producer = KafkaTestData.Producer(kafka);
        for (var p = 0; p < Partitions; p++)
        {
            for (var i = 0; i < PerRound; i++)
            {
                var id = Id(p, (round * PerRound) + i);
                producer.Produce(new TopicPartition(Topic, p), new Message<byte[]?, byte[]?> { Value = KafkaTestData.Json(new Event("k", id, id)) });
            }
        }

        producer.Flush(TimeSpan.FromSeconds(30));
    }

    private static long Id(int partition, int index) => (partition * 10_000L) + index + 1;

    private static List<long> Ids(int rounds) =>
        [.. Enumerable.Range(0, Partitions).SelectMany(p => Enumerable.Range(0, rounds * PerRound).Select(i => Id(p, i)))];

    private static List<long> Sorted(List<long> values)
    {
        values.Sort();
        return values;
    }

    /// <summary>The group's committed offset per partition (-1: none), as lag tools read it (OffsetFetch).</summary>
    private static List<long> GroupOffsets(EmbeddedKafka kafka)
    {
        using var reader = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = Group }).Build();
        var committed = reader.Committed(Enumerable.Range(0, Partitions).Select(p => new TopicPartition(Topic, p)), TimeSpan.FromSeconds(10));
        return [.. committed.OrderBy(c => c.Partition.Value).Select(c => c.Offset.IsSpecial ? -1 : c.Offset.Value)];
    }

    private List<long> NewestCheckpointPositions(string pipeline)
    {
        var newest = Directory.GetDirectories(Path.Combine(_root, pipeline), "chk-*")
            .Where(d => File.Exists(Path.Combine(d, "_metadata")))
            .Select(d => long.Parse(Path.GetFileName(d)["chk-".Length..], System.Globalization.CultureInfo.InvariantCulture))
            .Max();
        var metadata = JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(_root, pipeline, $"chk-{newest}", "_metadata")), CheckpointJson.Default.CheckpointMetadata)!;
        return [.. metadata.Sources.OrderBy(s => s.Partition).Select(s => s.Position)];
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
