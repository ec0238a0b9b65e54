using Sluice.Functions;
using Sluice.Hosting;
using Sluice.Sinks.Files;
using Sluice.Kafka;
using Sluice.Storage;
using Sluice.Time;
using Sluice.Windows;

namespace Sluice.Silo.Jobs;

/// <summary>
/// The windowed-counts job: JSON events from a Kafka topic -> event-time watermarks -> KeyBy(key) -> tumbling-window
/// count -> exactly-once JSON Lines files, or exactly once to a Kafka topic (<see cref="WindowedCountsOptions.OutputTopic"/>). Small on purpose: its output is easy to check against a brute-force count
/// of what was produced, which is what the multi-process chaos test does while silos are killed.
/// </summary>
internal static class WindowedCountsJob
{
    public const string Name = "windowed-counts";

    /// <summary>Validates the job's settings (throws naming each bad one) and registers the pipeline on this silo.</summary>
    public static void Register(IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(WindowedCountsOptions.SectionName).Get<WindowedCountsOptions>() ?? new WindowedCountsOptions();
        var bootstrapServers = configuration["Kafka:BootstrapServers"];
        var errors = options.Validate(bootstrapServers);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"Invalid configuration of the {Name} job: " + string.Join(" ", errors));
        }

        services.AddSingleton(options);
        services.AddSluicePipeline(sp => Create(options, bootstrapServers!, sp.GetRequiredService<ILoggerFactory>()));
    }

    public static Pipeline Create(WindowedCountsOptions options, string bootstrapServers, ILoggerFactory loggers)
    {
        var pipeline = Pipeline.Create(options.PipelineId, o =>
        {
            o.CheckpointInterval = options.CheckpointInterval;
            o.ResumeFromCheckpoint = options.ResumeFromCheckpoint;
            o.StartFromSavepoint = string.IsNullOrWhiteSpace(options.StartFromSavepoint) ? null : options.StartFromSavepoint;
            o.MaxParallelism = options.MaxParallelism;
        });
        var source = new KafkaSource<CountedEvent>(
            $"kafka:{options.InputTopic}",
            new KafkaSourceOptions { BootstrapServers = bootstrapServers, Topic = options.InputTopic, GroupId = options.ResolvedGroupId },
            KafkaFormats.Json(WindowedCountsJson.Default.CountedEvent)) { LoggerFactory = loggers };

        var watermarks = WatermarkStrategy.BoundedOutOfOrderness(options.MaxOutOfOrderness);
        if (options.IdleTimeout is { } idle)
        {
            watermarks = watermarks.WithIdleness(idle);
        }

        var counts = pipeline.From(source)
            .WithTimestamps(e => e.Timestamp, watermarks)
            .KeyBy(e => e.Key)
            .Window(Tumbling.Of(options.Window))
            .Aggregate(Aggregates.Count<CountedEvent>(), (key, window, count) => new WindowCount(key, window.Start, window.End, count), "count-per-key");
        if (!string.IsNullOrWhiteSpace(options.OutputTopic))
        {
            var sinkOptions = new KafkaSinkOptions
            {
                BootstrapServers = bootstrapServers,
                Topic = options.OutputTopic,
                Guarantee = options.OutputGuarantee,
                TransactionalIdPrefix = options.ResolvedTransactionalIdPrefix,
            };
            if (!string.IsNullOrWhiteSpace(options.CommitMarkerTopic))
            {
                sinkOptions.CommitMarkerTopic = options.CommitMarkerTopic;
            }

            counts.SinkTo(new KafkaSink<WindowCount>(
                $"kafka:{options.OutputTopic}",
                sinkOptions,
                KafkaFormats.Json(WindowedCountsJson.Default.WindowCount),
                c => c.Key,
                options.SinkParallelism) { LoggerFactory = loggers });
            return pipeline;
        }

        counts
            .ToFiles(
                "files",
                FileFormats.JsonLines(WindowedCountsJson.Default.WindowCount),
                new FileSinkOptions
                {
                    Prefix = options.OutputPrefix,
                    Storage = new CheckpointStorageOptions
                    {
                        Kind = CheckpointStoreKinds.FileSystem,
                        FileSystem = { Root = Path.GetFullPath(options.Output) },
                    },
                },
                options.SinkParallelism);
        return pipeline;
    }
}
