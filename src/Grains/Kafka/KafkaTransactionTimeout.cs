using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;

namespace Sluice.Kafka;

/// <summary>
/// Checks <c>transaction.timeout.ms</c> against the brokers' <c>transaction.max.timeout.ms</c> before the first
/// transaction, so a too-long timeout fails with the setting's name instead of an opaque InitProducerId error
/// (Flink's 1 h default against the broker's 15 min, FLINK-23839).
/// </summary>
internal static class KafkaTransactionTimeout
{
    public const string BrokerSetting = "transaction.max.timeout.ms";

    public static void Check(string sinkName, TimeSpan configured, long brokerMaxMs, string broker)
    {
        if (configured.TotalMilliseconds > brokerMaxMs)
        {
            throw new KafkaConfigurationException(
                $"Kafka sink '{sinkName}': {nameof(KafkaSinkOptions.TransactionTimeout)} ({(long)configured.TotalMilliseconds} ms, transaction.timeout.ms) exceeds broker {broker}'s " +
                $"{BrokerSetting} ({brokerMaxMs} ms); lower {nameof(KafkaSinkOptions.TransactionTimeout)} or raise {BrokerSetting} on the brokers.");
        }
    }

    /// <summary>
    /// Reads the setting from every broker, one DescribeConfigs call each (librdkafka allows one BROKER resource per call);
    /// a broker that does not answer (the embedded cluster) is logged and not checked.
    /// </summary>
    public static async Task CheckAsync(IAdminClient admin, string sinkName, TimeSpan configured, ILogger logger)
    {
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(15));
        foreach (var broker in metadata.Brokers)
        {
            var resource = new ConfigResource { Type = ResourceType.Broker, Name = broker.BrokerId.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            List<DescribeConfigsResult> results;
            try
            {
                results = await admin.DescribeConfigsAsync([resource], new DescribeConfigsOptions { RequestTimeout = TimeSpan.FromSeconds(15) });
            }
            catch (KafkaException ex)
            {
                logger.LogWarning("Kafka sink '{Sink}': could not read {Setting} from broker {Broker} ({Reason}); {Option} is not checked against it.", sinkName, BrokerSetting, resource.Name, ex.Error.Reason, nameof(KafkaSinkOptions.TransactionTimeout));
                continue;
            }

            foreach (var result in results)
            {
                if (result.Entries.TryGetValue(BrokerSetting, out var entry) && long.TryParse(entry.Value, System.Globalization.CultureInfo.InvariantCulture, out var max))
                {
                    Check(sinkName, configured, max, result.ConfigResource.Name);
                }
            }
        }
    }
}
