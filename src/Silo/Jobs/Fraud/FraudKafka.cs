using Sluice.Kafka.Embedded;

namespace Sluice.Silo.Jobs.Fraud;

/// <summary>
/// The Kafka the fraud job talks to: a real cluster when <c>Kafka:BootstrapServers</c> is set (its topics must exist),
/// otherwise an embedded three-broker mock cluster with the job's topics created, disposed with the host.
/// </summary>
internal sealed class FraudKafka : IDisposable
{
    private readonly EmbeddedKafka? _embedded;

    public FraudKafka(FraudOptions options, string? bootstrapServers, ILogger<FraudKafka> logger)
    {
        if (!string.IsNullOrWhiteSpace(bootstrapServers))
        {
            BootstrapServers = bootstrapServers;
            logger.LogInformation("The fraud job uses the Kafka cluster at {Bootstrap}", BootstrapServers);
            return;
        }

        _embedded = EmbeddedKafka.Start(brokers: 3);
        _embedded.CreateTopic(options.TransactionsTopic, options.Partitions);
        _embedded.CreateTopic(options.RulesTopic, 1);
        _embedded.CreateTopic(options.AlertsTopic, options.Partitions);
        _embedded.CreateTopic(options.DeadLetterTopic, 1);
        _embedded.CreateTopic(options.LateTopic, 1);
        BootstrapServers = _embedded.BootstrapServers;
        Console.WriteLine(
            $"[sluice] embedded Kafka (3 brokers) at {BootstrapServers}; topics {options.TransactionsTopic} + {options.RulesTopic} -> {options.AlertsTopic}");
    }

    public string BootstrapServers { get; }

    public bool IsEmbedded => _embedded is not null;

    public void Dispose() => _embedded?.Dispose();
}
