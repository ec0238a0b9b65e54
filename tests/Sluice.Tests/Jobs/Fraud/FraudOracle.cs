using System.Text.Json;
using Confluent.Kafka;
using Sluice.Silo.Jobs.Fraud;

namespace Sluice.Tests.Jobs.Fraud;

/// <summary>
/// The fraud job's alerts computed by brute force, without state or timers: for every large charge L of a card and every
/// rule r, look back over the card's earlier transactions (in (ts, txId) order) for the newest one that r, as in force at
/// its time, calls small or large. L alerts when that one is a small charge S judged by the same version of r as L, with
/// L at most the window after S. (A large charge in between would have alerted with S, or found S no longer valid.)
/// </summary>
internal static class FraudOracle
{
    public static List<FraudAlert> Alerts(IReadOnlyList<CardTransaction> transactions, IReadOnlyList<FraudRule> rulesInTopicOrder)
    {
        var ruleIds = rulesInTopicOrder.Select(r => r.RuleId).Distinct().Order(StringComparer.Ordinal).ToList();
        var alerts = new List<FraudAlert>();
        foreach (var card in transactions.GroupBy(t => t.CardId))
        {
            var ordered = card.OrderBy(t => t.Timestamp).ThenBy(t => t.TxId, StringComparer.Ordinal).ToList();
            for (var j = 0; j < ordered.Count; j++)
            {
                var large = ordered[j];
                foreach (var ruleId in ruleIds)
                {
                    var version = InForce(rulesInTopicOrder, ruleId, large.Timestamp);
                    if (version is not { IsActive: true } || large.Amount <= version.LargeAbove)
                    {
                        continue;
                    }

                    for (var k = j - 1; k >= 0; k--)
                    {
                        var earlier = ordered[k];
                        var then = InForce(rulesInTopicOrder, ruleId, earlier.Timestamp);
                        if (then is not { IsActive: true })
                        {
                            continue;
                        }

                        if (earlier.Amount < then.SmallBelow)
                        {
                            if (ReferenceEquals(then, version) && large.Timestamp - earlier.Timestamp <= version.WindowMs)
                            {
                                alerts.Add(new FraudAlert(large.CardId, ruleId, earlier.TxId, earlier.Amount, earlier.Timestamp, large.TxId, large.Amount, large.Timestamp));
                            }

                            break;
                        }

                        if (earlier.Amount > then.LargeAbove)
                        {
                            break;
                        }
                    }
                }
            }
        }

        return alerts;
    }

    /// <summary>The version of <paramref name="ruleId"/> with the latest time at or before <paramref name="ts"/>; of equal times the last written.</summary>
    public static FraudRule? InForce(IReadOnlyList<FraudRule> rulesInTopicOrder, string ruleId, long ts)
    {
        FraudRule? found = null;
        foreach (var rule in rulesInTopicOrder)
        {
            if (rule.RuleId == ruleId && rule.Timestamp <= ts && (found is null || rule.Timestamp >= found.Timestamp))
            {
                found = rule;
            }
        }

        return found;
    }

    /// <summary>Every message of a topic (all partitions, from the beginning): until <paramref name="timeout"/> passes, or until 2 s after <paramref name="expected"/> arrived.</summary>
    public static List<T> Read<T>(string bootstrapServers, string topic, int expected, TimeSpan timeout, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> json)
    {
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = $"reader-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build())
        {
            var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics[0].Partitions.Count;
            consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        }

        var values = new List<T>();
        var deadline = DateTime.UtcNow + timeout;
        var draining = false;
        while (DateTime.UtcNow < deadline)
        {
            if (values.Count >= expected && !draining)
            {
                // Everything expected is here: read on briefly, so that extra messages show up too.
                draining = true;
                deadline = DateTime.UtcNow + TimeSpan.FromSeconds(2);
            }

            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false } r)
            {
                values.Add(JsonSerializer.Deserialize(r.Message.Value, json)!);
            }
        }

        return values;
    }

    /// <summary>Asserts the same alerts, each as often (records compare amounts as numbers), naming a few of the differences.</summary>
    public static void AssertSame(IReadOnlyList<FraudAlert> expected, IReadOnlyList<FraudAlert> actual, string context)
    {
        var counts = new Dictionary<FraudAlert, int>();
        foreach (var alert in expected)
        {
            counts[alert] = counts.GetValueOrDefault(alert) + 1;
        }

        var extra = new List<FraudAlert>();
        foreach (var alert in actual)
        {
            if (counts.GetValueOrDefault(alert) > 0)
            {
                counts[alert]--;
            }
            else
            {
                extra.Add(alert);
            }
        }

        var missing = counts.Where(c => c.Value > 0).Select(c => c.Key).ToList();
        Assert.True(
            missing.Count == 0 && extra.Count == 0,
            $"{context}: {actual.Count} alerts, the oracle has {expected.Count}; {missing.Count} missing, e.g. {string.Join(" | ", missing.Take(5))}; "
            + $"{extra.Count} not in the oracle, e.g. {string.Join(" | ", extra.Take(5))}");
    }
}
