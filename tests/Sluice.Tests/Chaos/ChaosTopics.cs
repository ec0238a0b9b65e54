using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Sluice.Kafka.Embedded;

namespace Sluice.Tests.Chaos;

/// <summary>The topics of one chaos run: input events, output counts and the exactly-once sink's commit markers.</summary>
internal sealed record ChaosTopics(string Input, string Output, string Markers)
{
    /// <summary>On the embedded broker through the mock's API, on a real one through the admin API (markers compacted).</summary>
    public async Task CreateAsync(string bootstrap, EmbeddedKafka embedded, int inputPartitions, int outputPartitions, bool onEmbedded)
    {
        if (onEmbedded)
        {
            embedded.CreateTopic(Input, inputPartitions);
            embedded.CreateTopic(Output, outputPartitions);
            embedded.CreateTopic(Markers, 1);
            return;
        }

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        await admin.CreateTopicsAsync(
        [
            new TopicSpecification { Name = Input, NumPartitions = inputPartitions, ReplicationFactor = -1 },
            new TopicSpecification { Name = Output, NumPartitions = outputPartitions, ReplicationFactor = -1 },
            new TopicSpecification
            {
                Name = Markers,
                NumPartitions = 1,
                ReplicationFactor = -1,
                Configs = new Dictionary<string, string>(StringComparer.Ordinal) { ["cleanup.policy"] = "compact" },
            },
        ]);
    }
}
