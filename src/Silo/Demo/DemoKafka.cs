using Sluice.Kafka.Embedded;
using Sluice.Sinks;

namespace Sluice.Silo.Demo;

/// <summary>Settings of the demo's Kafka (section "Kafka").</summary>
internal sealed class DemoKafkaOptions
{
    /// <summary>Empty: start the embedded Kafka (librdkafka's mock cluster) in this process.</summary>
    public string BootstrapServers { get; set; } = string.Empty;

    public string InputTopic { get; set; } = "clicks";

    public string OutputTopic { get; set; } = "top-users";

    public string DeadLetterTopic { get; set; } = "clicks-dead-letters";

    /// <summary>
    /// How the top users reach <see cref="OutputTopic"/>: AtLeastOnce (default; visible at once) or ExactlyOnce (one Kafka
    /// transaction per checkpoint: visible to read_committed readers after the checkpoint interval plus the commit;
    /// needs Sluice:Demo:CheckpointInterval). Setting <c>Kafka:OutputGuarantee</c> (env <c>Kafka__OutputGuarantee</c>).
    /// </summary>
    public DeliveryGuarantee OutputGuarantee { get; set; } = DeliveryGuarantee.AtLeastOnce;

    /// <summary>Exactly once: start of the sink's transactional ids; empty: <c>sluice-{pipeline id}</c>.</summary>
    public string? TransactionalIdPrefix { get; set; }

    public string Format { get; set; } = "json";

    /// <summary>Partitions of the topics the embedded Kafka creates.</summary>
    public int Partitions { get; set; } = 4;
}

/// <summary>
/// The Kafka the demo talks to: a real cluster when <c>Kafka:BootstrapServers</c> is set (its topics must
/// exist), otherwise an embedded three-broker mock cluster with the topics created, disposed with the host.
/// </summary>
internal sealed class DemoKafka : IDisposable
{
    private readonly EmbeddedKafka? _embedded;

    public DemoKafka(DemoKafkaOptions options, ILogger<DemoKafka> logger)
    {
        Options = options;
        if (!string.IsNullOrWhiteSpace(options.BootstrapServers))
        {
            BootstrapServers = options.BootstrapServers;
            logger.LogInformation("Demo uses the Kafka cluster at {Bootstrap}", BootstrapServers);
            return;
        }

        _embedded = EmbeddedKafka.Start(brokers: 3);
        _embedded.CreateTopic(options.InputTopic, options.Partitions);
        _embedded.CreateTopic(options.OutputTopic, options.Partitions);
        _embedded.CreateTopic(options.DeadLetterTopic, 1);
        BootstrapServers = _embedded.BootstrapServers;
        Console.WriteLine($"[sluice] embedded Kafka (3 brokers) at {BootstrapServers}; topics {options.InputTopic} -> {options.OutputTopic}");
    }

    public DemoKafkaOptions Options { get; }

    public string BootstrapServers { get; }

    public bool IsEmbedded => _embedded is not null;

    public void Dispose() => _embedded?.Dispose();
}
