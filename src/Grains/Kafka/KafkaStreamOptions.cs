using Confluent.Kafka;

namespace Sluice.Kafka;

/// <summary>Settings of the Kafka persistent stream provider (one queue per topic partition).</summary>
public sealed class KafkaStreamOptions
{
    public string BootstrapServers { get; set; } = string.Empty;

    /// <summary>Topics to read; each topic is a stream namespace, each record key a stream key.</summary>
    public IList<string> Topics { get; } = [];

    public string GroupId { get; set; } = "orleans-streams";

    public KafkaStartPosition StartPosition { get; set; } = KafkaStartPosition.Earliest;

    /// <summary>Read committed (default) hides records of open and aborted transactions; see <see cref="KafkaSourceOptions.IsolationLevel"/>.</summary>
    public IsolationLevel IsolationLevel { get; set; } = IsolationLevel.ReadCommitted;

    /// <summary>Messages buffered per partition between the consumer thread and the pulling agent.</summary>
    public int BufferedMessages { get; set; } = 10_000;

    public TimeSpan MetadataTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Extra librdkafka settings passed through as they are (security.protocol, sasl.*, ssl.*, ...).</summary>
    public IDictionary<string, string> ClientConfig { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
}
