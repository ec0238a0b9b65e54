using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Providers.Streams.Common;
using Orleans.Streams;
using Sluice.Sources;

namespace Sluice.Kafka;

/// <summary>
/// An Orleans persistent stream provider over Kafka: one queue per topic partition (the queue balancer
/// assigns partitions to silos; consumers use manual assignment, not group subscription), a consumer per
/// queue on its own thread, one stream per (topic, record key). Read-only: produce with a Kafka producer.
/// </summary>
internal sealed class KafkaQueueAdapterFactory : ReadOnlyQueueAdapterFactory
{
    private readonly KafkaStreamOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly IReadOnlyList<TopicPartition> _partitions;

    private KafkaQueueAdapterFactory(string name, KafkaStreamOptions options, ILoggerFactory loggerFactory, IReadOnlyList<TopicPartition> partitions)
        : base(name, partitions.Count, new SimpleQueueCacheOptions().CacheSize, loggerFactory)
    {
        _options = options;
        _loggerFactory = loggerFactory;
        _partitions = partitions;
    }

    public static KafkaQueueAdapterFactory Create(IServiceProvider services, string name)
    {
        var options = services.GetRequiredService<IOptionsMonitor<KafkaStreamOptions>>().Get(name);
        return new(name, options, services.GetRequiredService<ILoggerFactory>(), DiscoverPartitions(name, options));
    }

    public override IQueueAdapterReceiver CreateReceiver(QueueId queueId) =>
        new KafkaQueueReceiver(_options, _partitions[Queues.IndexOf(queueId)], _loggerFactory.CreateLogger($"Sluice.Kafka.Streams.{Name}"));

    private static List<TopicPartition> DiscoverPartitions(string name, KafkaStreamOptions options)
    {
        if (options.Topics.Count == 0)
        {
            throw new KafkaConfigurationException($"Kafka stream provider '{name}': Topics is empty; name at least one topic to read.");
        }

        using var admin = new AdminClientBuilder(KafkaClients.Admin(options.ClientConfig, options.BootstrapServers, $"stream provider '{name}'", options.Topics[0])).Build();
        var result = new List<TopicPartition>();
        foreach (var topic in options.Topics)
        {
            Metadata metadata;
            try
            {
                metadata = admin.GetMetadata(topic, options.MetadataTimeout);
            }
            catch (KafkaException ex)
            {
                throw new KafkaConfigurationException($"Kafka stream provider '{name}': cannot read metadata of topic '{topic}' from {options.BootstrapServers}: {ex.Error.Reason}", ex);
            }

            var found = metadata.Topics.Find(t => t.Topic == topic);
            if (found is null || found.Error.IsError || found.Partitions.Count == 0)
            {
                throw new KafkaConfigurationException($"Kafka stream provider '{name}': topic '{topic}' does not exist on {options.BootstrapServers} ({found?.Error.Reason ?? "not in metadata"}).");
            }

            result.AddRange(found.Partitions.OrderBy(p => p.PartitionId).Select(p => new TopicPartition(topic, p.PartitionId)));
        }

        return result;
    }
}

/// <summary>Reads one topic partition for the pulling agent.</summary>
internal sealed class KafkaQueueReceiver(KafkaStreamOptions options, TopicPartition partition, ILogger logger) : IQueueAdapterReceiver, IDisposable
{
    private KafkaPartitionConsumer? _consumer;

    // Stream tokens (not channel sequence numbers: this provider feeds user grains, not pipeline channels) count from a
    // clock-based start per receiver (the offset travels in the message), so they keep increasing when a receiver is
    // recreated and re-reads earlier offsets: cursors never see time go back.
    private long _token = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << 20;

    public Task Initialize(TimeSpan timeout)
    {
        var config = KafkaClients.Consumer(new KafkaSourceOptions
        {
            BootstrapServers = options.BootstrapServers,
            Topic = partition.Topic,
            GroupId = options.GroupId,
            StartPosition = options.StartPosition,
            IsolationLevel = options.IsolationLevel,
        }, pipelineId: string.Empty);
        foreach (var (key, value) in options.ClientConfig)
        {
            config.Set(key, value);
        }

        var start = options.StartPosition == KafkaStartPosition.Earliest ? Offset.Beginning : Offset.End;
        _consumer = new KafkaPartitionConsumer(config, partition, start, options.BufferedMessages, logger);
        return Task.CompletedTask;
    }

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount) => GetQueueMessagesAsync(maxCount, CancellationToken.None);

    public Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount, CancellationToken cancellationToken)
    {
        var batch = new List<IBatchContainer>();
        var limit = maxCount < 0 ? int.MaxValue : maxCount;
        while (batch.Count < limit && _consumer is not null && _consumer.TryRead(out var result))
        {
            var key = result.Message.Key is null ? string.Empty : Encoding.UTF8.GetString(result.Message.Key);
            var message = new KafkaMessage(result.Topic, result.Partition.Value, result.Offset.Value, result.Message.Key, result.Message.Value, result.Message.Timestamp.UnixTimestampMs);
            batch.Add(new KafkaBatchContainer(StreamId.Create(result.Topic, key), new EventSequenceTokenV2(++_token), message));
        }

        return Task.FromResult<IList<IBatchContainer>>(batch);
    }

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task MessagesDeliveredAsync(IList<IBatchContainer> messages) => Task.CompletedTask;

    public Task MessagesDeliveredAsync(IList<IBatchContainer> messages, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task Shutdown(TimeSpan timeout)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _consumer?.Dispose();
        _consumer = null;
    }
}
