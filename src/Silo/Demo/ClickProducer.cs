using System.Text.Json;
using Confluent.Kafka;
using Sluice.Sources;

namespace Sluice.Silo.Demo;

/// <summary>
/// Writes the generator's click events to the demo's input topic at the configured rate, partition by
/// partition as the generator numbers them, so the pipeline reads a real Kafka topic.
/// </summary>
internal sealed class ClickProducer(DemoKafka kafka, DemoOptions demo, ILogger<ClickProducer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var source = ClickPipeline.Source(demo);
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 10,
        }).Build();
        var topic = kafka.Options.InputTopic;
        var started = DateTime.UtcNow;
        long index = 0;
        var failures = 0L;
        while (!stoppingToken.IsCancellationRequested)
        {
            var due = demo.RecordsPerSecond <= 0 ? index + 1_000 : (long)((DateTime.UtcNow - started).TotalSeconds * demo.RecordsPerSecond / demo.Partitions);
            for (; index < due && !stoppingToken.IsCancellationRequested; index++)
            {
                for (var p = 0; p < demo.Partitions; p++)
                {
                    var e = source.EventAt(p, index);
                    var click = source.Create(e);
                    var message = new Message<string, byte[]>
                    {
                        Key = click.UserId,
                        Value = JsonSerializer.SerializeToUtf8Bytes(click, DemoJson.Default.ClickEvent),
                        Timestamp = new Timestamp(click.Timestamp, TimestampType.CreateTime),
                    };
                    DemoProducing.Produce(producer, new TopicPartition(topic, p), message, ref failures, logger, "demo clicks");
                }
            }

            await Task.Delay(50, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        producer.Flush(TimeSpan.FromSeconds(5));
    }
}
