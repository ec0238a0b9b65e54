using System.Text.Json;
using Confluent.Kafka;
using Sluice.Silo.Demo;

namespace Sluice.Silo.Jobs.Fraud;

/// <summary>
/// Writes <see cref="FraudGenerator"/>'s records to the rules and transactions topics at the configured rate (wall
/// clock), starting at the current time; a bounded run (<c>Generator:Transactions</c>) stops after its closing records.
/// </summary>
internal sealed class FraudProducer(FraudKafka kafka, FraudOptions options, ILogger<FraudProducer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var generator = options.Generator;
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 10,
        }).Build();
        var started = DateTime.UtcNow;
        var records = FraudGenerator.Generate(generator, options.Partitions, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), options.MaxOutOfOrderness);
        long transactions = 0;
        long rules = 0;
        var failures = 0L;
        using var next = records.GetEnumerator();
        while (!stoppingToken.IsCancellationRequested)
        {
            var due = (long)((DateTime.UtcNow - started).TotalSeconds * generator.TransactionsPerSecond) + 1;
            while (transactions < due && !stoppingToken.IsCancellationRequested)
            {
                if (!next.MoveNext())
                {
                    producer.Flush(TimeSpan.FromSeconds(10));
                    logger.LogInformation("Fraud generator done: {Transactions} transactions, {Rules} rule versions", transactions, rules);
                    return;
                }

                var record = next.Current;
                var (topic, key, value, ts) = record.Rule is { } rule
                    ? (options.RulesTopic, rule.RuleId, JsonSerializer.SerializeToUtf8Bytes(rule, FraudJson.Default.FraudRule), rule.Timestamp)
                    : (options.TransactionsTopic, record.Transaction!.CardId, JsonSerializer.SerializeToUtf8Bytes(record.Transaction, FraudJson.Default.CardTransaction), record.Transaction.Timestamp);
                if (record.Rule is null)
                {
                    transactions++;
                }
                else
                {
                    rules++;
                }

                DemoProducing.Produce(
                    producer,
                    new TopicPartition(topic, record.Partition),
                    new Message<string, byte[]> { Key = key, Value = value, Timestamp = new Timestamp(ts, TimestampType.CreateTime) },
                    ref failures,
                    logger,
                    "fraud demo data");
            }

            await Task.Delay(50, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        producer.Flush(TimeSpan.FromSeconds(5));
    }
}
