using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Silo.Jobs.Fraud;
using Sluice.Kafka.Embedded;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Xunit.Abstractions;

namespace Sluice.Tests.Jobs.Fraud;

/// <summary>
/// The fraud job's definition on two in-process silos over the embedded Kafka: random out-of-order transactions on four
/// partitions, rule versions that add, change, pause, delete and bring back rules mid-stream, and undecodable records on
/// both topics. The alerts on the alerts topic must equal <see cref="FraudOracle"/>'s. Seeds are random per run and
/// printed; <c>SLUICE_PROPERTY_SEED=&lt;seed&gt;</c> replays one.
/// </summary>
public sealed class FraudJobClusterTests(ITestOutputHelper output) : IDisposable
{
    private const long Start = 1_700_000_000_000;
    private const int Partitions = 4;
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-fraud-").FullName;

    [Fact]
    public async Task Alerts_equal_the_oracle_with_rules_changing_mid_stream_and_out_of_order_transactions()
    {
        var seed = PropertySeeds.For(1)[0];
        var random = new Random(seed);
        var options = new FraudOptions
        {
            PipelineId = $"fraud-{seed}",
            StopAtEnd = true,
            CheckpointInterval = TimeSpan.FromSeconds(1),
            MaxOutOfOrderness = TimeSpan.FromSeconds(1),
            MaxParallelism = 16,
            PrintAlerts = false,
        };
        Assert.Empty(options.Validate());
        using var kafka = EmbeddedKafka.Start(brokers: 3);
        kafka.CreateTopic(options.TransactionsTopic, Partitions);
        kafka.CreateTopic(options.RulesTopic, 1);
        kafka.CreateTopic(options.AlertsTopic, Partitions);
        kafka.CreateTopic(options.DeadLetterTopic, 1);
        kafka.CreateTopic(options.LateTopic, 1);

        var rules = Rules();
        var (transactions, byPartition) = Transactions(random, perPartition: 1_500, cards: random.Next(20, 60), bound: 1_000);
        var deadLetters = 0;
        using (var producer = new ProducerBuilder<string?, byte[]>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, EnableIdempotence = true, Acks = Acks.All, LingerMs = 2 }).Build())
        {
            foreach (var rule in rules)
            {
                Produce(producer, options.RulesTopic, 0, JsonSerializer.SerializeToUtf8Bytes(rule, FraudJson.Default.FraudRule));
                if (rule.Timestamp == Start + 200_000)
                {
                    // Bad rule records between good ones: not JSON, thresholds the wrong way round, a window over MaxWindow.
                    Produce(producer, options.RulesTopic, 0, "{\"ruleId\": \"broken"u8.ToArray());
                    Produce(producer, options.RulesTopic, 0, Encoding.UTF8.GetBytes($"{{\"ruleId\":\"upside-down\",\"ts\":{Start + 200_000},\"smallBelow\":600,\"largeAbove\":2}}"));
                    Produce(producer, options.RulesTopic, 0, Encoding.UTF8.GetBytes($"{{\"ruleId\":\"too-long\",\"ts\":{Start + 200_000},\"smallBelow\":1,\"largeAbove\":2,\"windowMs\":7200000}}"));
                    deadLetters += 3;
                }
            }

            for (var p = 0; p < Partitions; p++)
            {
                foreach (var tx in byPartition[p])
                {
                    Produce(producer, options.TransactionsTopic, p, JsonSerializer.SerializeToUtf8Bytes(tx, FraudJson.Default.CardTransaction));
                    if (random.Next(300) == 0)
                    {
                        Produce(producer, options.TransactionsTopic, p, random.Next(3) switch
                        {
                            0 => "not json"u8.ToArray(),
                            1 => Encoding.UTF8.GetBytes($"{{\"txId\":\"neg\",\"cardId\":\"card-1\",\"amount\":-5,\"ts\":{tx.Timestamp}}}"),
                            _ => Encoding.UTF8.GetBytes($"{{\"txId\":\"nocard\",\"amount\":5,\"ts\":{tx.Timestamp}}}"),
                        });
                        deadLetters++;
                    }
                }
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        var expected = FraudOracle.Alerts(transactions, rules);
        output.WriteLine($"seed {seed} (replay: SLUICE_PROPERTY_SEED={seed}): {transactions.Count} transactions, {rules.Count} rule versions, {deadLetters} bad records, {expected.Count} alerts expected "
            + $"({string.Join(", ", expected.GroupBy(a => a.RuleId).Select(g => $"{g.Key}: {g.Count()}"))})");

        await using var cluster = await SluiceCluster.StartWithCheckpointsAsync(2, _root);
        cluster.Register(FraudJob.Create(options, kafka.BootstrapServers, resume: false, NullLoggerFactory.Instance));
        var status = await cluster.WaitForStatusAsync(options.PipelineId, s => s.State is Grains.PipelineState.Finished or Grains.PipelineState.Failed, TimeSpan.FromSeconds(120), "the end of both topics");
        Assert.True(status.State == Grains.PipelineState.Finished, SluiceCluster.Describe(status));
        Assert.Equal(transactions.Count + rules.Count, status.RecordsIn);
        Assert.Equal(deadLetters, status.DeadLetters);

        var recovery = await cluster.Cluster.Client.GetGrain<Grains.ICheckpointCoordinatorGrain>(options.PipelineId).GetRecoveryAsync();
        var alerts = FraudOracle.Read(kafka.BootstrapServers, options.AlertsTopic, expected.Count, TimeSpan.FromSeconds(30), FraudJson.Default.FraudAlert);
        output.WriteLine($"attempt {recovery.Attempt}, restarts {recovery.Restarts} ({recovery.LastRestartReason}); {alerts.Count} alerts read");
        Assert.Equal(0, recovery.Restarts);
        FraudOracle.AssertSame(expected, alerts, $"seed {seed}");
        Assert.Contains(expected, a => a.RuleId == "tight");
        Assert.Empty(FraudOracle.Read(kafka.BootstrapServers, options.LateTopic, 0, TimeSpan.FromSeconds(2), FraudJson.Default.CardTransaction));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Rule versions in topic (and time) order: a second rule joins, the first changes, the second pauses and comes back changed, the first is deleted and re-added.</summary>
    private static List<FraudRule> Rules() =>
    [
        new("small-then-large", Start, 1m, 500m, 60_000),
        new("tight", Start + 100_000, 5m, 250m, 30_000),
        new("small-then-large", Start + 200_000, 1m, 400m, 90_000),
        new("tight", Start + 260_000, 5m, 250m, 30_000, Enabled: false),
        new("tight", Start + 320_000, 3m, 300m, 20_000),
        new("small-then-large", Start + 380_000, Deleted: true),
        new("small-then-large", Start + 440_000, 1m, 500m, 60_000),
    ];

    /// <summary>
    /// Per partition a clock moving 0-600 ms (in 10 ms steps, so times repeat) per transaction; each transaction up to
    /// <paramref name="bound"/> behind it, so none is late. 10% small (some under 1.00, some under 5.00), 10% large
    /// (some between 250 and 500, which only some rule versions call large), the rest in between.
    /// </summary>
    private static (List<CardTransaction> All, List<CardTransaction>[] ByPartition) Transactions(Random random, int perPartition, int cards, long bound)
    {
        var all = new List<CardTransaction>();
        var byPartition = new List<CardTransaction>[Partitions];
        var id = 0;
        for (var p = 0; p < Partitions; p++)
        {
            byPartition[p] = [];
            var clock = Start;
            for (var i = 0; i < perPartition; i++)
            {
                clock += random.Next(0, 61) * 10;
                var roll = random.Next(10);
                var cents = roll == 0 ? random.Next(1, 500) : roll == 1 ? random.Next(25_001, 150_000) : random.Next(500, 25_000);
                var tx = new CardTransaction($"t{id++}", $"card-{random.Next(cards)}", cents / 100m, clock - (random.NextInt64(0, bound + 1) / 10 * 10));
                byPartition[p].Add(tx);
                all.Add(tx);
            }
        }

        return (all, byPartition);
    }

    private static void Produce(IProducer<string?, byte[]> producer, string topic, int partition, byte[] value) =>
        producer.Produce(new TopicPartition(topic, partition), new Message<string?, byte[]> { Value = value });
}
