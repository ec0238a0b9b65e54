using Confluent.Kafka;
using Sluice.Kafka;

namespace Sluice.Silo.Jobs.Fraud;

/// <summary>
/// JSON readers of the fraud job's input topics that also check the values: a record that is not JSON, or whose
/// fields cannot work (no card, a negative amount, a rule whose large threshold is below its small one), throws, so
/// the Kafka source sends it to the dead-letter topic with the reason in its headers and counts it.
/// </summary>
internal static class FraudFormats
{
    public static IDeserializer<CardTransaction> Transactions { get; } = new TransactionFormat();

    public static IDeserializer<FraudRule> Rules(TimeSpan maxWindow) => new RuleFormat((long)maxWindow.TotalMilliseconds);

    private sealed class TransactionFormat : IDeserializer<CardTransaction>
    {
        private readonly JsonFormat<CardTransaction> _json = KafkaFormats.Json(FraudJson.Default.CardTransaction);

        public CardTransaction Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context)
        {
            var tx = _json.Deserialize(data, isNull, context);
            if (string.IsNullOrEmpty(tx.TxId) || string.IsNullOrEmpty(tx.CardId))
            {
                throw new FormatException("A transaction needs txId and cardId.");
            }

            if (tx.Amount < 0)
            {
                throw new FormatException($"Transaction {tx.TxId} has a negative amount ({tx.Amount}).");
            }

            return tx.Timestamp > 0 ? tx : throw new FormatException($"Transaction {tx.TxId} needs ts (event time, ms since the epoch).");
        }
    }

    private sealed class RuleFormat(long maxWindowMs) : IDeserializer<FraudRule>
    {
        private readonly JsonFormat<FraudRule> _json = KafkaFormats.Json(FraudJson.Default.FraudRule);

        public FraudRule Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context)
        {
            var rule = _json.Deserialize(data, isNull, context);
            if (string.IsNullOrEmpty(rule.RuleId))
            {
                throw new FormatException("A rule needs ruleId.");
            }

            if (rule.Timestamp <= 0)
            {
                throw new FormatException($"Rule {rule.RuleId} needs ts: the event time it takes effect from (ms since the epoch).");
            }

            if (!rule.IsActive)
            {
                return rule;
            }

            if (rule.SmallBelow <= 0 || rule.LargeAbove < rule.SmallBelow)
            {
                throw new FormatException($"Rule {rule.RuleId} needs 0 < smallBelow <= largeAbove (has {rule.SmallBelow} and {rule.LargeAbove}).");
            }

            return rule.WindowMs > 0 && rule.WindowMs <= maxWindowMs
                ? rule
                : throw new FormatException($"Rule {rule.RuleId} has windowMs {rule.WindowMs}; it must be 1..{maxWindowMs} (Jobs:Fraud:MaxWindow).");
        }
    }
}
