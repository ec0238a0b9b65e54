using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Functions;
using Sluice.Kafka;
using Sluice.Pipelines;
using Sluice.Sinks;
using Sluice.Sources;

namespace Sluice.Tests.Kafka.ExactlyOnce;

/// <summary>Settings of the exactly-once Kafka sink that cannot work are refused when the pipeline starts, naming the setting.</summary>
public sealed class KafkaExactlyOnceStartChecksTests
{
    [Fact]
    public void A_second_pipeline_with_the_same_transactional_id_prefix_is_refused_at_registration()
    {
        var registry = new PipelineRegistry(NullLogger<PipelineRegistry>.Instance);
        registry.Register(Writing("first", "shared", "127.0.0.1:9092", DeliveryGuarantee.ExactlyOnce));

        var error = Assert.Throws<PipelineValidationException>(() => registry.Register(Writing("second", "shared", "127.0.0.1:9092", DeliveryGuarantee.ExactlyOnce)));
        Assert.Contains("TransactionalIdPrefix 'shared'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'first'", error.Message, StringComparison.Ordinal);
        Assert.False(registry.TryGet("second", out _));
    }

    [Fact]
    public void The_same_prefix_is_allowed_on_another_cluster_and_for_at_least_once_sinks()
    {
        var registry = new PipelineRegistry(NullLogger<PipelineRegistry>.Instance);
        registry.Register(Writing("first", "shared", "127.0.0.1:9092", DeliveryGuarantee.ExactlyOnce));
        registry.Register(Writing("other-cluster", "shared", "10.0.0.1:9092", DeliveryGuarantee.ExactlyOnce));
        registry.Register(Writing("at-least-once", "shared", "127.0.0.1:9092", DeliveryGuarantee.AtLeastOnce));
    }

    /// <summary>The embedded broker does not answer DescribeConfigs, so only a real one can refuse a too long timeout.</summary>
    [SkippableFact]
    public async Task A_transaction_timeout_above_a_real_brokers_maximum_fails_the_first_commit_naming_the_setting()
    {
        var bootstrap = Environment.GetEnvironmentVariable("SLUICE_KAFKA_BOOTSTRAP");
        Skip.If(string.IsNullOrEmpty(bootstrap), "needs a real Kafka broker: set SLUICE_KAFKA_BOOTSTRAP=host:port (the embedded mock cluster does not answer DescribeConfigs)");
        var options = EpochLog.Options(bootstrap!, $"eos-timeout-{Guid.NewGuid():N}", $"eos-markers-{Guid.NewGuid():N}");
        options.TransactionTimeout = TimeSpan.FromHours(1); // brokers allow 15 min by default
        var writer = (ITransactionalSink<string>)new KafkaSink<string>("out", options, Serializers.Utf8).CreateWriter("timeout", 0);
        writer.Write("x", new SinkContext("timeout", 0, 1, long.MinValue));
        var handle = (await writer.PrepareAsync(1, CancellationToken.None))!;
        var error = await Assert.ThrowsAsync<KafkaConfigurationException>(() => writer.CommitAsync(1, handle, CancellationToken.None));
        Assert.Contains(nameof(KafkaSinkOptions.TransactionTimeout), error.Message, StringComparison.Ordinal);
        Assert.Contains("transaction.max.timeout.ms", error.Message, StringComparison.Ordinal);
        ((IDisposable)writer).Dispose();
    }

    private static Pipeline Writing(string id, string prefix, string bootstrap, DeliveryGuarantee guarantee)
    {
        var pipeline = Pipeline.Create(id);
        pipeline.From(new InMemorySource<string>("in", 1)).SinkTo(new KafkaSink<string>("out", new KafkaSinkOptions
        {
            BootstrapServers = bootstrap,
            Topic = "out",
            Guarantee = guarantee,
            TransactionalIdPrefix = prefix,
        }, Serializers.Utf8));
        return pipeline;
    }
}
