using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Sources;

namespace Sluice.Kafka;

/// <summary>
/// A Kafka topic as a pipeline source: one source partition per topic partition, each read by its own
/// consumer (manual assignment) inside the source stream provider's receivers. Records carry the Kafka
/// timestamp; a record that cannot be deserialised, or that the pipeline's source operators reject (key or
/// timestamp extraction throws), goes to the dead-letter topic with the reason in its headers.
/// </summary>
public sealed class KafkaSource<T> : SourceDefinition<T>
{
    private readonly IDeserializer<T> _format;
    private readonly Lazy<KafkaDeadLetters> _deadLetters;

    public KafkaSource(string name, KafkaSourceOptions options, IDeserializer<T> format)
        : this(name, options, format, PartitionCount(options))
    {
    }

    private KafkaSource(string name, KafkaSourceOptions options, IDeserializer<T> format, int partitions)
        : base(name, Math.Max(partitions, options.MaxPartitions ?? partitions))
    {
        ArgumentNullException.ThrowIfNull(format);
        Options = options;
        _format = format;
        _deadLetters = new(() => new KafkaDeadLetters(options, LoggerFactory.CreateLogger("Sluice.Kafka.DeadLetters")));
        Discovery = new KafkaPartitionDiscovery(options, partitions, Partitions, () => LoggerFactory.CreateLogger($"Sluice.Kafka.{options.Topic}"));
    }

    public KafkaSourceOptions Options { get; }

    /// <summary>The topic's partition count as it grows.</summary>
    internal KafkaPartitionDiscovery Discovery { get; }

    /// <summary>Where consumer threads log; set by the silo so client trouble shows up with the rest.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>A reader outside a pipeline: offsets go to <see cref="KafkaSourceOptions.GroupId"/>, or to <c>sluice</c>.</summary>
    public override ISourceReader<T> OpenReader(int partition) => OpenReader(string.Empty, partition);

    /// <summary>A reader of pipeline <paramref name="pipelineId"/>: offsets go to its consumer group (<see cref="KafkaSourceOptions.GroupIdFor"/>).</summary>
    public override ISourceReader<T> OpenReader(string pipelineId, int partition) => new KafkaPartitionReader<T>(this, pipelineId, partition, _format, _deadLetters);

    private static int PartitionCount(KafkaSourceOptions options)
    {
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new KafkaConfigurationException($"Kafka source for topic '{options.Topic}' is not configured correctly: {string.Join(" ", errors)}");
        }

        using var admin = new AdminClientBuilder(KafkaClients.Admin(options.ClientConfig, options.BootstrapServers, "source", options.Topic)).Build();
        Metadata metadata;
        try
        {
            metadata = admin.GetMetadata(options.Topic, options.MetadataTimeout);
        }
        catch (KafkaException ex)
        {
            throw new KafkaConfigurationException($"Kafka source: cannot read metadata of topic '{options.Topic}' from {options.BootstrapServers} (Kafka:BootstrapServers): {ex.Error.Reason}", ex);
        }

        var topic = metadata.Topics.Find(t => t.Topic == options.Topic);
        if (topic is null || topic.Error.IsError || topic.Partitions.Count == 0)
        {
            throw new KafkaConfigurationException(
                $"Kafka source: topic '{options.Topic}' does not exist on {options.BootstrapServers} ({topic?.Error.Reason ?? "not in metadata"}); create it or fix the Topic setting.");
        }

        return topic.Partitions.Count;
    }
}
