using Confluent.Kafka;
using Sluice.Kafka.Embedded;

namespace Sluice.Kafka;

/// <summary>Builds Confluent client configs from Sluice options, with settings validated up front.</summary>
internal static class KafkaClients
{
    public static ConsumerConfig Consumer(KafkaSourceOptions options, string pipelineId) =>
        new(Validated(options.ClientConfig, options.BootstrapServers, "source", options.Topic))
        {
            GroupId = options.GroupIdFor(pipelineId),
            EnableAutoCommit = false,
            EnablePartitionEof = false,
            IsolationLevel = options.IsolationLevel,
            AutoOffsetReset = options.StartPosition == KafkaStartPosition.Earliest ? AutoOffsetReset.Earliest : AutoOffsetReset.Latest,
        };

    public static ProducerConfig Producer(IDictionary<string, string> clientConfig, string bootstrapServers, string what, string topic) =>
        new(Validated(clientConfig, bootstrapServers, what, topic))
        {
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            MessageTimeoutMs = 120_000,
        };

    public static AdminClientConfig Admin(IDictionary<string, string> clientConfig, string bootstrapServers, string what, string topic) =>
        new(Validated(clientConfig, bootstrapServers, what, topic));

    private static Dictionary<string, string> Validated(IDictionary<string, string> clientConfig, string bootstrapServers, string what, string topic)
    {
        if (string.IsNullOrWhiteSpace(bootstrapServers))
        {
            throw new KafkaConfigurationException($"Kafka {what} for topic '{topic}': BootstrapServers is empty; set Kafka:BootstrapServers (host:port[,host:port]).");
        }

        if (string.IsNullOrWhiteSpace(topic))
        {
            throw new KafkaConfigurationException($"Kafka {what}: Topic is empty.");
        }

        // This machine's default librdkafka build needs libsasl2; make sure Confluent loads one that works.
        EmbeddedKafka.EnsureLibraryLoaded();
        return new Dictionary<string, string>(clientConfig, StringComparer.Ordinal) { ["bootstrap.servers"] = bootstrapServers };
    }
}
