using Sluice.Sinks;
using Sluice.Kafka;

namespace Sluice.Silo.Demo;

/// <summary>The demo on Kafka: clicks read from the input topic, top users written to the output topic and the console.</summary>
internal static class KafkaClickPipeline
{
    public static Pipeline Create(DemoOptions demo, DemoKafka kafka, SinkDefinition<TopUsers> console, ILoggerFactory loggers)
    {
        var options = kafka.Options;
        var sourceOptions = new KafkaSourceOptions
        {
            BootstrapServers = kafka.BootstrapServers,
            Topic = options.InputTopic,
            GroupId = $"sluice-{demo.PipelineId}",
            DeadLetterTopic = options.DeadLetterTopic,
        };
        var source = new KafkaSource<ClickEvent>("clicks", sourceOptions, KafkaFormats.Json(DemoJson.Default.ClickEvent)) { LoggerFactory = loggers };
        var output = new KafkaSink<TopUsers>(
            "top-users",
            new KafkaSinkOptions
            {
                BootstrapServers = kafka.BootstrapServers,
                Topic = options.OutputTopic,
                Guarantee = options.OutputGuarantee,
                TransactionalIdPrefix = string.IsNullOrWhiteSpace(options.TransactionalIdPrefix) ? $"sluice-{demo.PipelineId}" : options.TransactionalIdPrefix,
            },
            KafkaFormats.Json(DemoJson.Default.TopUsers),
            top => top.WindowEnd.ToString(System.Globalization.CultureInfo.InvariantCulture)) { LoggerFactory = loggers };
        // An embedded Kafka starts empty each run, so offsets and state of an earlier run mean nothing.
        return ClickPipeline.Create(demo, source, resume: !kafka.IsEmbedded, console, output);
    }
}
