using Sluice.Kafka;
using Sluice.Kafka.Embedded;
using Sluice.Tests.Properties;

namespace Sluice.Tests.Kafka;

public sealed class KafkaConfigurationTests
{
    [Fact]
    public void A_source_without_bootstrap_servers_fails_naming_the_setting()
    {
        var error = Assert.Throws<KafkaConfigurationException>(() =>
            new KafkaSource<Event>("events", new KafkaSourceOptions { Topic = "events" }, KafkaFormats.Json(KafkaTestJson.Default.Event)));
        Assert.Contains("Kafka:BootstrapServers", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sink_without_bootstrap_servers_fails_naming_the_setting()
    {
        var sink = new KafkaSink<Event>("out", new KafkaSinkOptions { Topic = "out" }, KafkaFormats.Json(KafkaTestJson.Default.Event));
        var error = Assert.Throws<KafkaConfigurationException>(() => sink.CreateWriter(0));
        Assert.Contains("Kafka:BootstrapServers", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_format_fails_naming_the_setting_and_the_choices()
    {
        var error = Assert.Throws<KafkaConfigurationException>(() => KafkaFormats.Validate("xml", "Kafka:Format"));
        Assert.Contains("Kafka:Format", error.Message, StringComparison.Ordinal);
        Assert.Contains("json", error.Message, StringComparison.Ordinal);
        Assert.Equal("json", KafkaFormats.Validate("JSON", "Kafka:Format"));
    }

    [Fact]
    public void An_unreachable_broker_fails_at_definition_with_the_address()
    {
        var options = new KafkaSourceOptions { Topic = "events", BootstrapServers = "127.0.0.1:1", MetadataTimeout = TimeSpan.FromSeconds(2) };
        var error = Assert.Throws<KafkaConfigurationException>(() => new KafkaSource<Event>("events", options, KafkaFormats.Json(KafkaTestJson.Default.Event)));
        Assert.Contains("127.0.0.1:1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_partition_count_comes_from_the_topic()
    {
        using var kafka = EmbeddedKafka.Start(brokers: 1);
        kafka.CreateTopic("six", 6);
        var source = new KafkaSource<Event>("six", new KafkaSourceOptions { Topic = "six", BootstrapServers = kafka.BootstrapServers }, KafkaFormats.Json(KafkaTestJson.Default.Event));
        Assert.Equal(6, source.Partitions);
    }

    /// <summary>The mock cluster creates unknown topics on demand, so only a real broker can refuse one.</summary>
    [SkippableFact]
    public void A_missing_topic_on_a_real_cluster_fails_naming_the_topic()
    {
        var bootstrap = Environment.GetEnvironmentVariable("SLUICE_KAFKA_BOOTSTRAP");
        Skip.If(string.IsNullOrEmpty(bootstrap), "needs a real Kafka broker: set SLUICE_KAFKA_BOOTSTRAP=host:port (the embedded mock cluster auto-creates topics)");
        var topic = $"missing-{Guid.NewGuid():N}";
        var error = Assert.Throws<KafkaConfigurationException>(() =>
            new KafkaSource<Event>(topic, new KafkaSourceOptions { Topic = topic, BootstrapServers = bootstrap! }, KafkaFormats.Json(KafkaTestJson.Default.Event)));
        Assert.Contains(topic, error.Message, StringComparison.Ordinal);
    }
}
