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

    /// <summary>Consumer group id, used for lag monitoring; the pipeline's offsets live in its checkpoints.</summary>
    public string GroupId { get; set; } = "sluice";

    public KafkaStartPosition StartPosition { get; set; } = KafkaStartPosition.Earliest;

    /// <summary>Topic that receives records that cannot be deserialised or keyed, with the reason in headers. Null: count and log only.</summary>
    public string? DeadLetterTopic { get; set; }

    /// <summary>Read each partition up to its end offset at open time, then end (bounded runs, tests, backfills).</summary>
    public bool StopAtEndOffsets { get; set; }

    /// <summary>Messages buffered per partition between the consumer thread and the pipeline.</summary>
    public int BufferedMessages { get; set; } = 20_000;

    public TimeSpan MetadataTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Extra librdkafka settings passed through as they are (security.protocol, sasl.*, ssl.*, ...).</summary>
    public IDictionary<string, string> ClientConfig { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>Settings of a Kafka sink.</summary>
public sealed class KafkaSinkOptions
{
    public string BootstrapServers { get; set; } = string.Empty;

    public string Topic { get; set; } = string.Empty;

    /// <summary>Extra librdkafka settings passed through as they are.</summary>
    public IDictionary<string, string> ClientConfig { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>A Kafka source or sink whose settings cannot work; the message names the setting.</summary>
public sealed class KafkaConfigurationException(string message, Exception? inner = null) : Exception(message, inner);
