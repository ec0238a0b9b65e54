using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Sluice.Kafka;

/// <summary>
/// Writes rejected records to the dead-letter topic: original key and value, plus headers naming the source
/// topic, partition, offset and the error. Without a dead-letter topic the record is only counted and logged.
/// </summary>
internal sealed class KafkaDeadLetters : IDisposable
{
    public const string TopicHeader = "sluice.source.topic";
    public const string PartitionHeader = "sluice.source.partition";
    public const string OffsetHeader = "sluice.source.offset";
    public const string ErrorHeader = "sluice.error";

    private readonly KafkaSourceOptions _options;
    private readonly ILogger _logger;
    private readonly IProducer<byte[]?, byte[]?>? _producer;
    private long _failed;

    public KafkaDeadLetters(KafkaSourceOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        if (options.DeadLetterTopic is { Length: > 0 } topic)
        {
            _producer = new ProducerBuilder<byte[]?, byte[]?>(KafkaClients.Producer(options.ClientConfig, options.BootstrapServers, "dead-letter producer", topic)).Build();
        }
    }

    public long FailedDeliveries => Interlocked.Read(ref _failed);

    public void Send(ConsumeResult<byte[]?, byte[]?> record, Exception error)
    {
        if (_producer is null)
        {
            _logger.LogWarning("Dropped record {Topic}/{Partition}@{Offset}: {Error} (no DeadLetterTopic configured)", record.Topic, record.Partition.Value, record.Offset.Value, error.Message);
            return;
        }

        var headers = new Headers
        {
            { TopicHeader, Encoding.UTF8.GetBytes(record.Topic) },
            { PartitionHeader, Encoding.UTF8.GetBytes(record.Partition.Value.ToString(CultureInfo.InvariantCulture)) },
            { OffsetHeader, Encoding.UTF8.GetBytes(record.Offset.Value.ToString(CultureInfo.InvariantCulture)) },
            { ErrorHeader, Encoding.UTF8.GetBytes($"{error.GetType().Name}: {error.Message}") },
        };
        _producer.Produce(
            _options.DeadLetterTopic!,
            new Message<byte[]?, byte[]?> { Key = record.Message.Key, Value = record.Message.Value, Headers = headers, Timestamp = record.Message.Timestamp },
            report =>
            {
                if (report.Error.IsError)
                {
                    Interlocked.Increment(ref _failed);
                    _logger.LogError("Could not dead-letter {Topic}/{Partition}@{Offset}: {Reason}", record.Topic, record.Partition.Value, record.Offset.Value, report.Error.Reason);
                }
            });
    }

    public void Flush(TimeSpan timeout) => _producer?.Flush(timeout);

    public void Dispose()
    {
        _producer?.Flush(TimeSpan.FromSeconds(10));
        _producer?.Dispose();
    }
}
