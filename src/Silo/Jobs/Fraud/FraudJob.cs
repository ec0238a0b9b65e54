using System.Globalization;
using Sluice.Hosting;
using Sluice.Sinks;
using Sluice.Kafka;
using Sluice.Time;

namespace Sluice.Silo.Jobs.Fraud;

/// <summary>
/// The fraud-detection job: card transactions from Kafka with event-time watermarks, keyed by card, connected with rule
/// versions broadcast from a second topic, judged by <see cref="FraudDetector"/>; alerts to a Kafka topic (at least once)
/// and the console, late transactions to their own topic, undecodable records to the dead-letter topic.
/// </summary>
internal static class FraudJob
{
    public const string Name = "fraud";

    /// <summary>Validates the job's settings (throws naming each bad one) and registers the pipeline and, on demand, the generator.</summary>
    public static void Register(IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(FraudOptions.SectionName).Get<FraudOptions>() ?? new FraudOptions();
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"Invalid configuration of the {Name} job: " + string.Join(" ", errors));
        }

        var bootstrapServers = configuration["Kafka:BootstrapServers"];
        services.AddSingleton(options);
        services.AddSingleton(sp => new FraudKafka(options, bootstrapServers, sp.GetRequiredService<ILogger<FraudKafka>>()));
        if (options.Generator.Enabled ?? string.IsNullOrWhiteSpace(bootstrapServers))
        {
            services.AddHostedService<FraudProducer>();
        }

        services.AddSluicePipeline(sp =>
        {
            var kafka = sp.GetRequiredService<FraudKafka>();
            var console = options.PrintAlerts ? new ConsoleSink<FraudAlert>("console", Format) : null;
            // An embedded Kafka starts empty each run, so offsets and state of an earlier run mean nothing.
            return Create(options, kafka.BootstrapServers, options.ResumeFromCheckpoint && !kafka.IsEmbedded, sp.GetRequiredService<ILoggerFactory>(), console);
        });
    }

    public static Pipeline Create(FraudOptions options, string bootstrapServers, bool resume, ILoggerFactory loggers, SinkDefinition<FraudAlert>? console = null)
    {
        var pipeline = Pipeline.Create(options.PipelineId, o =>
        {
            o.CheckpointInterval = options.CheckpointInterval;
            o.ResumeFromCheckpoint = resume;
            o.MaxParallelism = options.MaxParallelism;
        });
        var transactions = new KafkaSource<CardTransaction>($"kafka:{options.TransactionsTopic}", SourceOptions(options, bootstrapServers, options.TransactionsTopic), FraudFormats.Transactions)
        {
            LoggerFactory = loggers,
        };
        var ruleVersions = new KafkaSource<FraudRule>($"kafka:{options.RulesTopic}", SourceOptions(options, bootstrapServers, options.RulesTopic), FraudFormats.Rules(options.MaxWindow))
        {
            LoggerFactory = loggers,
        };

        var rules = pipeline.From(ruleVersions)
            .WithTimestamps(r => r.Timestamp, Watermarks(options))
            .Broadcast(FraudDetector.Rules);
        var alerts = pipeline.From(transactions)
            .WithTimestamps(t => t.Timestamp, Watermarks(options))
            .KeyBy(t => t.CardId)
            .Connect(rules)
            .Process(() => new FraudDetector(options.SmallChargeTimeToLive, options.RuleHistory), "fraud-detector");

        alerts.SinkTo(new KafkaSink<FraudAlert>(
            "alerts",
            new KafkaSinkOptions { BootstrapServers = bootstrapServers, Topic = options.AlertsTopic },
            KafkaFormats.Json(FraudJson.Default.FraudAlert),
            a => a.CardId) { LoggerFactory = loggers });
        alerts.SideOutput(FraudDetector.Late).SinkTo(new KafkaSink<CardTransaction>(
            "late-transactions",
            new KafkaSinkOptions { BootstrapServers = bootstrapServers, Topic = options.LateTopic },
            KafkaFormats.Json(FraudJson.Default.CardTransaction),
            t => t.CardId) { LoggerFactory = loggers });
        if (console is not null)
        {
            alerts.SinkTo(console);
        }

        return pipeline;
    }

    public static string Format(FraudAlert a) => string.Create(
        CultureInfo.InvariantCulture,
        $"[fraud] {a.CardId} rule {a.RuleId}: {a.SmallAmount:0.00} ({a.SmallTxId}) at {DateTimeOffset.FromUnixTimeMilliseconds(a.SmallTimestamp):HH:mm:ss.fff}, then {a.LargeAmount:0.00} ({a.LargeTxId}) at {DateTimeOffset.FromUnixTimeMilliseconds(a.LargeTimestamp):HH:mm:ss.fff}");

    private static KafkaSourceOptions SourceOptions(FraudOptions options, string bootstrapServers, string topic) => new()
    {
        BootstrapServers = bootstrapServers,
        Topic = topic,
        GroupId = options.ResolvedGroupId,
        DeadLetterTopic = options.DeadLetterTopic,
        StopAtEndOffsets = options.StopAtEnd,
    };

    private static WatermarkStrategy Watermarks(FraudOptions options) =>
        WatermarkStrategy.BoundedOutOfOrderness(options.MaxOutOfOrderness).WithIdleness(options.IdleTimeout);
}
