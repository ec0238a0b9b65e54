using Confluent.Kafka;
using Sluice.Sinks;

namespace Sluice.Kafka;

/// <summary>Where a Kafka source starts when it has no checkpointed offsets.</summary>
public enum KafkaStartPosition
{
    Earliest,
    Latest,
}

/// <summary>Settings of a Kafka source (a topic read as a partitioned pipeline source).</summary>
public sealed class KafkaSourceOptions
{
    /// <summary>Comma-separated host:port list (setting <c>Kafka:BootstrapServers</c> in the silo).</summary>
    public string BootstrapServers { get; set; } = string.Empty;

    public string Topic { get; set; } = string.Empty;

    /// <summary>
    /// Consumer group id, for monitoring only: after each completed checkpoint the partitions' checkpointed offsets are
    /// committed to this group, so standard lag tools (kafka-consumer-groups, Burrow, exporters) see the pipeline's
    /// progress. The pipeline never reads them back: its offsets live in its checkpoints. Not set (the default): the group
    /// is <c>sluice-{pipeline id}</c>, one per pipeline, so two pipelines reading one topic do not overwrite each other's
    /// offsets. Two sources of one pipeline reading the same topic should be given groups of their own.
    /// </summary>
    public string? GroupId { get; set; }

    /// <summary>The group offsets are committed to for pipeline <paramref name="pipelineId"/> (empty outside a pipeline: <c>sluice</c>).</summary>
    public string GroupIdFor(string pipelineId) => GroupId ?? (pipelineId.Length == 0 ? "sluice" : "sluice-" + pipelineId);

    /// <summary>
    /// Which records the consumers see. <see cref="IsolationLevel.ReadCommitted"/> (default) hides records of open and
    /// aborted transactions, which a topic written by an exactly-once pipeline (or any transactional producer) needs;
    /// it reads non-transactional topics unchanged. <see cref="IsolationLevel.ReadUncommitted"/> also sees records of
    /// transactions that were never committed (lower latency, no exactly-once downstream).
    /// </summary>
    public IsolationLevel IsolationLevel { get; set; } = IsolationLevel.ReadCommitted;

    public KafkaStartPosition StartPosition { get; set; } = KafkaStartPosition.Earliest;

    /// <summary>Topic that receives records that cannot be deserialised or keyed, with the reason in headers. Null: count and log only.</summary>
    public string? DeadLetterTopic { get; set; }

    /// <summary>Read each partition up to its end offset at open time, then end (bounded runs, tests, backfills).</summary>
    public bool StopAtEndOffsets { get; set; }

    /// <summary>Messages buffered per partition between the consumer thread and the pipeline.</summary>
    public int BufferedMessages { get; set; } = 20_000;

    public TimeSpan MetadataTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Partitions the source can read, including ones added to the topic later (Flink: partition discovery). The source
    /// is planned with max(this, the topic's partition count when the pipeline is defined) partitions; one whose Kafka
    /// partition does not exist yet stays idle, checkpointed at offset 0, and is read from the beginning once the topic
    /// grows. Null (default): exactly the partitions the topic has at definition; partitions added later are reported
    /// (logs, status error) but not read. Each slot is a channel to every key group, so keep the headroom modest.
    /// Changing it changes the plan: take a savepoint first.
    /// </summary>
    public int? MaxPartitions { get; set; }

    /// <summary>How often the topic's partition count is refreshed (one metadata request per source and silo).</summary>
    public TimeSpan PartitionDiscoveryInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Extra librdkafka settings passed through as they are (security.protocol, sasl.*, ssl.*, ...).</summary>
    public IDictionary<string, string> ClientConfig { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Problems with the settings, each naming the setting; empty when they can work.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (MaxPartitions is < 1)
        {
            errors.Add($"{nameof(MaxPartitions)} ({MaxPartitions}) must be at least 1, or null for the topic's partition count.");
        }

        if (PartitionDiscoveryInterval <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(PartitionDiscoveryInterval)} ({PartitionDiscoveryInterval}) must be positive.");
        }

        if (!Enum.IsDefined(IsolationLevel))
        {
            errors.Add($"{nameof(IsolationLevel)} ({(int)IsolationLevel}) must be {nameof(IsolationLevel.ReadCommitted)} or {nameof(IsolationLevel.ReadUncommitted)}.");
        }

        if (ClientConfig.ContainsKey("isolation.level"))
        {
            errors.Add($"ClientConfig must not set isolation.level: use the {nameof(IsolationLevel)} setting.");
        }

        if (ClientConfig.ContainsKey("enable.auto.commit") || ClientConfig.ContainsKey("group.id"))
        {
            errors.Add($"ClientConfig must not set group.id or enable.auto.commit: use {nameof(GroupId)}; offsets are committed after each completed checkpoint.");
        }

        if (GroupId is not null && string.IsNullOrWhiteSpace(GroupId))
        {
            errors.Add($"{nameof(GroupId)} is empty (it names the consumer group that lag tools read; leave it unset for sluice-{{pipeline id}}).");
        }

        if (BufferedMessages <= 0)
        {
            errors.Add($"{nameof(BufferedMessages)} ({BufferedMessages}) must be positive.");
        }

        if (MetadataTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(MetadataTimeout)} ({MetadataTimeout}) must be positive.");
        }

        return errors;
    }
}

/// <summary>Settings of a Kafka sink.</summary>
public sealed partial class KafkaSinkOptions
{
    public string BootstrapServers { get; set; } = string.Empty;

    public string Topic { get; set; } = string.Empty;

    /// <summary>
    /// At least once (default: an idempotent producer flushed at every barrier, output visible at once) or exactly once
    /// (each epoch written ahead into the checkpoint and produced in one Kafka transaction when its checkpoint
    /// completes: output visible to read_committed readers after the checkpoint interval plus the commit time).
    /// </summary>
    public DeliveryGuarantee Guarantee { get; set; } = DeliveryGuarantee.AtLeastOnce;

    /// <summary>
    /// Exactly once: the start of every transactional id (<c>{prefix}-{pipeline}-{sink task}</c>), stable across restarts
    /// so a restarted task fences its predecessor. Unique per pipeline writing to the same cluster.
    /// </summary>
    public string? TransactionalIdPrefix { get; set; }

    /// <summary>
    /// Exactly once: <c>transaction.timeout.ms</c>; must not exceed the broker's <c>transaction.max.timeout.ms</c>
    /// (15 min by default), which is checked when the sink task starts.
    /// </summary>
    public TimeSpan TransactionTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Exactly once: the compacted topic that holds one commit marker per (pipeline, sink task, epoch).</summary>
    public string CommitMarkerTopic { get; set; } = "_sluice-kafka-commits";

    /// <summary>Extra librdkafka settings passed through as they are.</summary>
    public IDictionary<string, string> ClientConfig { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Problems with the settings, each naming the setting; empty when they can work.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Guarantee == DeliveryGuarantee.ExactlyOnce)
        {
            if (string.IsNullOrWhiteSpace(TransactionalIdPrefix))
            {
                errors.Add($"{nameof(TransactionalIdPrefix)} is required with {nameof(Guarantee)}={nameof(DeliveryGuarantee.ExactlyOnce)} (unique per pipeline on the cluster).");
            }

            if (TransactionTimeout < TimeSpan.FromSeconds(1) || TransactionTimeout > TimeSpan.FromMilliseconds(int.MaxValue))
            {
                errors.Add($"{nameof(TransactionTimeout)} ({TransactionTimeout}) must be at least 1 s and fit transaction.timeout.ms.");
            }

            if (string.IsNullOrWhiteSpace(CommitMarkerTopic))
            {
                errors.Add($"{nameof(CommitMarkerTopic)} is empty.");
            }
            else if (CommitMarkerTopic == Topic)
            {
                errors.Add($"{nameof(CommitMarkerTopic)} must differ from the output topic '{Topic}'.");
            }

            if (ClientConfig.ContainsKey("transactional.id"))
            {
                errors.Add($"ClientConfig must not set transactional.id: it is derived from {nameof(TransactionalIdPrefix)}.");
            }
        }

        return errors;
    }
}

/// <summary>A Kafka source or sink whose settings cannot work; the message names the setting.</summary>
public sealed class KafkaConfigurationException(string message, Exception? inner = null) : Exception(message, inner);
