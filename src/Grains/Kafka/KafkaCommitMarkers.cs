using System.Buffers.Binary;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;

namespace Sluice.Kafka;

/// <summary>
/// The commit markers of exactly-once Kafka sink tasks: one record per (pipeline, sink task, epoch), keyed
/// <c>{pipeline}/{sink}/{task}/{epoch}</c> on a compacted topic, produced inside the epoch's transaction, so a marker is
/// committed exactly when the epoch's records are. Read back with read_committed when a task (re)starts.
/// </summary>
internal static class KafkaCommitMarkers
{
    public const string TaskHeader = "sluice-task";
    public const string EpochHeader = "sluice-epoch";

    public static string KeyPrefix(string pipelineId, string sinkName, int taskIndex) => $"{SinkPrefix(pipelineId, sinkName)}{taskIndex}/";

    /// <summary>The start of the marker keys of every task of one sink of one pipeline.</summary>
    public static string SinkPrefix(string pipelineId, string sinkName) => $"{pipelineId}/{sinkName}/";

    /// <summary>The marker's value: the epoch and the nonce of its handle (int64 LE each).</summary>
    public static byte[] Value(long epoch, long nonce)
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, epoch);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), nonce);
        return bytes;
    }

    /// <summary>Creates the marker topic (compacted) when the cluster lacks it; a cluster that cannot create topics (the embedded one creates them on first produce) is left as it is.</summary>
    public static async Task EnsureTopicAsync(IAdminClient admin, string topic, ILogger logger)
    {
        var existing = admin.GetMetadata(topic, TimeSpan.FromSeconds(15)).Topics.Find(t => t.Topic == topic);
        if (existing is { Partitions.Count: > 0 } && existing.Error.Code == Confluent.Kafka.ErrorCode.NoError)
        {
            return;
        }

        try
        {
            await admin.CreateTopicsAsync(
            [
                new TopicSpecification
                {
                    Name = topic,
                    NumPartitions = 1,
                    ReplicationFactor = -1,
                    Configs = new Dictionary<string, string>(StringComparer.Ordinal) { ["cleanup.policy"] = "compact" },
                },
            ],
            new CreateTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(15), OperationTimeout = TimeSpan.FromSeconds(15) });
        }
        catch (CreateTopicsException ex) when (ex.Results.TrueForAll(r => r.Error.Code is Confluent.Kafka.ErrorCode.NoError or Confluent.Kafka.ErrorCode.TopicAlreadyExists))
        {
        }
        catch (KafkaException ex)
        {
            logger.LogWarning("Could not create the commit marker topic {Topic} ({Reason}); it must exist or be created on first use.", topic, ex.Error.Reason);
        }
    }

    /// <summary>
    /// The (epoch, nonce) pairs with a committed marker, by sink task, of the sink whose keys start with
    /// <paramref name="sinkPrefix"/> (<see cref="SinkPrefix"/>; read_committed, up to the last stable offset).
    /// </summary>
    public static Dictionary<int, HashSet<(long Epoch, long Nonce)>> Read(ConsumerConfig config, string topic, string sinkPrefix, TimeSpan timeout)
    {
        config.IsolationLevel = IsolationLevel.ReadCommitted;
        config.EnableAutoCommit = false;
        config.EnablePartitionEof = false;
        config.AutoOffsetReset = AutoOffsetReset.Earliest;
        var epochs = new Dictionary<int, HashSet<(long, long)>>();
        using var consumer = new ConsumerBuilder<string?, byte[]>(config).Build();
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var metadata = admin.GetMetadata(topic, timeout);
        var topicMetadata = metadata.Topics.Find(t => t.Topic == topic);
        if (topicMetadata is null || topicMetadata.Error.Code == Confluent.Kafka.ErrorCode.UnknownTopicOrPart || topicMetadata.Partitions.Count == 0)
        {
            return epochs;
        }

        var ends = new Dictionary<int, long>();
        var assignment = new List<TopicPartitionOffset>();
        foreach (var partition in topicMetadata.Partitions)
        {
            var tp = new TopicPartition(topic, partition.PartitionId);
            var marks = consumer.QueryWatermarkOffsets(tp, timeout);
            if (marks.High > marks.Low)
            {
                ends[partition.PartitionId] = marks.High;
                assignment.Add(new TopicPartitionOffset(tp, marks.Low));
            }
        }

        if (assignment.Count == 0)
        {
            return epochs;
        }

        consumer.Assign(assignment);
        var deadline = DateTime.UtcNow + timeout;
        while (ends.Count > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new KafkaException(new Error(Confluent.Kafka.ErrorCode.Local_TimedOut, $"Reading the commit markers from '{topic}' did not reach the end within {timeout}."));
            }

            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null)
            {
                // Transaction control records advance the position without a message.
                foreach (var tp in consumer.Assignment)
                {
                    if (ends.TryGetValue(tp.Partition.Value, out var end) && consumer.Position(tp) >= end)
                    {
                        ends.Remove(tp.Partition.Value);
                    }
                }

                continue;
            }

            if (result.Message.Key is { } key && key.StartsWith(sinkPrefix, StringComparison.Ordinal) && result.Message.Value is { Length: 16 } value
                && TaskOf(key, sinkPrefix.Length) is { } task)
            {
                if (!epochs.TryGetValue(task, out var ofTask))
                {
                    epochs[task] = ofTask = [];
                }

                ofTask.Add((BinaryPrimitives.ReadInt64LittleEndian(value), BinaryPrimitives.ReadInt64LittleEndian(value.AsSpan(8))));
            }

            if (ends.TryGetValue(result.Partition.Value, out var last) && result.Offset.Value + 1 >= last)
            {
                ends.Remove(result.Partition.Value);
            }
        }

        return epochs;
    }

    private static int? TaskOf(string key, int start)
    {
        var end = key.IndexOf('/', start);
        return end > start && int.TryParse(key.AsSpan(start, end - start), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var task) ? task : null;
    }
}
