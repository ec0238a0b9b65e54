using Confluent.Kafka;
using Sluice.Kafka;
using Sluice.Sources;
using Sluice.Tests.Properties;

namespace Sluice.Tests.Kafka;

/// <summary>
/// The source reads read_committed unless told otherwise, so a topic written by an exactly-once pipeline is read as
/// committed. The embedded mock cluster does not filter aborted transactions, so what a read_committed consumer
/// actually sees is checked against a real broker only.
/// </summary>
public sealed class KafkaIsolationLevelTests
{
    [Fact]
    public void Source_consumers_read_committed_by_default()
    {
        var options = new KafkaSourceOptions { Topic = "t", BootstrapServers = "127.0.0.1:1" };
        Assert.Equal(IsolationLevel.ReadCommitted, options.IsolationLevel);
        Assert.Equal(IsolationLevel.ReadCommitted, KafkaClients.Consumer(options, "p").IsolationLevel);
        Assert.Empty(options.Validate());
    }

    [Fact]
    public void Read_uncommitted_is_passed_to_the_consumer_when_chosen()
    {
        var options = new KafkaSourceOptions { Topic = "t", BootstrapServers = "127.0.0.1:1", IsolationLevel = IsolationLevel.ReadUncommitted };
        Assert.Equal(IsolationLevel.ReadUncommitted, KafkaClients.Consumer(options, "p").IsolationLevel);
        Assert.Equal(IsolationLevel.ReadCommitted, KafkaClients.Consumer(new KafkaSourceOptions { Topic = "t", BootstrapServers = "127.0.0.1:1" }, "p").IsolationLevel);
    }

    [Fact]
    public void Isolation_level_in_the_raw_client_config_is_refused_naming_the_setting()
    {
        var options = new KafkaSourceOptions { Topic = "t", BootstrapServers = "127.0.0.1:1" };
        options.ClientConfig["isolation.level"] = "read_uncommitted";
        var error = Assert.Throws<KafkaConfigurationException>(() => new KafkaSource<Event>("t", options, KafkaFormats.Json(KafkaTestJson.Default.Event)));
        Assert.Contains("isolation.level", error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(KafkaSourceOptions.IsolationLevel), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_undefined_isolation_level_and_an_empty_group_are_refused_naming_the_settings()
    {
        var options = new KafkaSourceOptions { Topic = "t", BootstrapServers = "127.0.0.1:1", IsolationLevel = (IsolationLevel)7, GroupId = " " };
        var errors = options.Validate();
        Assert.Contains(errors, e => e.Contains(nameof(KafkaSourceOptions.IsolationLevel), StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains(nameof(KafkaSourceOptions.GroupId), StringComparison.Ordinal));
    }

    [Fact]
    public void The_stream_provider_reads_committed_by_default() =>
        Assert.Equal(IsolationLevel.ReadCommitted, new KafkaStreamOptions().IsolationLevel);

    [SkippableFact]
    public async Task A_read_committed_source_skips_an_aborted_transaction_on_a_real_broker()
    {
        var bootstrap = Environment.GetEnvironmentVariable("SLUICE_KAFKA_BOOTSTRAP");
        Skip.If(string.IsNullOrEmpty(bootstrap), "needs a real Kafka broker: set SLUICE_KAFKA_BOOTSTRAP=host:port (the embedded mock cluster does not filter aborted transactions)");
        var topic = $"isolation-{Guid.NewGuid():N}";
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build())
        {
            await admin.CreateTopicsAsync([new Confluent.Kafka.Admin.TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = 1 }]);
        }

        using (var producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = bootstrap, TransactionalId = topic }).Build())
        {
            producer.InitTransactions(TimeSpan.FromSeconds(30));
            producer.BeginTransaction();
            producer.Produce(topic, new Message<byte[]?, byte[]?> { Value = KafkaTestData.Json(new Event("aborted", 1, 1)) });
            producer.Flush(TimeSpan.FromSeconds(30));
            producer.AbortTransaction(TimeSpan.FromSeconds(30));
            producer.BeginTransaction();
            producer.Produce(topic, new Message<byte[]?, byte[]?> { Value = KafkaTestData.Json(new Event("committed", 2, 2)) });
            producer.CommitTransaction(TimeSpan.FromSeconds(30));
        }

        var committed = await ReadKeysAsync(bootstrap!, topic, IsolationLevel.ReadCommitted, expected: 1);
        Assert.Equal(["committed"], committed);
        var everything = await ReadKeysAsync(bootstrap!, topic, IsolationLevel.ReadUncommitted, expected: 2);
        Assert.Equal(["aborted", "committed"], everything);
    }

    private static async Task<List<string>> ReadKeysAsync(string bootstrap, string topic, IsolationLevel isolation, int expected)
    {
        var source = new KafkaSource<Event>(topic, new KafkaSourceOptions { Topic = topic, BootstrapServers = bootstrap, IsolationLevel = isolation }, KafkaFormats.Json(KafkaTestJson.Default.Event));
        var reader = source.OpenReader(0);
        var output = new Keys();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var backlog = -1L;
        while (DateTime.UtcNow < deadline && (output.Values.Count < expected || backlog != 0))
        {
            backlog = reader.Read(100, output, 0).Backlog;
            await Task.Delay(50);
        }

        (reader as IDisposable)?.Dispose();
        return output.Values;
    }

    private sealed class Keys : ISourceOutput<Event>
    {
        public List<string> Values { get; } = [];

        public Exception? Record(Event value, long timestamp)
        {
            Values.Add(value.Key);
            return null;
        }

        public void Watermark(long watermark)
        {
        }

        public void Idle()
        {
        }
    }
}
