using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Functions;
using Sluice.Sinks;
using Sluice.Storage;

namespace Sluice.Kafka;

/// <summary>
/// Writes records to a Kafka topic, exactly once with <see cref="KafkaSinkOptions.Guarantee"/> =
/// <see cref="DeliveryGuarantee.ExactlyOnce"/> (see <see cref="KafkaTransactionalWriter{T}"/>), otherwise at least once: an idempotent producer (no duplicates from its own
/// retries) that is flushed at every checkpoint barrier (a failed flush fails the checkpoint) and when the input ends. Records keep their pipeline timestamp as the Kafka timestamp.
/// A record whose delivery finally fails is counted and logged, and <see cref="ISinkFunction{T}.Finish"/>
/// reports it as an error.
/// </summary>
public sealed class KafkaSink<T>(string name, KafkaSinkOptions options, ISerializer<T> serializer, Func<T, string?>? keySelector = null, int parallelism = 1)
    : SinkDefinition<T>(name, parallelism), IExclusiveSink, IServiceAwareSink<T>
{
    public KafkaSinkOptions Options { get; } = options;

    internal ISerializer<T> Serializer { get; } = serializer;

    internal Func<T, string?>? KeySelector { get; } = keySelector;

    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>Exactly once: called at each step of every task's transaction protocol (fault injection in tests).</summary>
    internal KafkaTransactionHook? TransactionHook { get; set; }

    /// <summary>Exactly once: the transactional id prefix on this cluster belongs to one pipeline.</summary>
    ExclusiveSinkClaim? IExclusiveSink.ExclusiveClaim =>
        Options.Guarantee == DeliveryGuarantee.ExactlyOnce && !string.IsNullOrWhiteSpace(Options.TransactionalIdPrefix)
            ? new ExclusiveSinkClaim($"kafka transactional id prefix '{Options.TransactionalIdPrefix}' on {Options.BootstrapServers}", $"{nameof(KafkaSinkOptions)}.{nameof(KafkaSinkOptions.TransactionalIdPrefix)} '{Options.TransactionalIdPrefix}'")
            : null;

    public override ISinkFunction<T> CreateWriter(int taskIndex) => CreateWriter(string.Empty, taskIndex);

    /// <summary>At least once: a flushing idempotent producer. Exactly once: a transactional writer named after (prefix, pipeline, task).</summary>
    public override ISinkFunction<T> CreateWriter(string pipelineId, int taskIndex) => CreateWriter(pipelineId, taskIndex, spillStore: null);

    /// <summary>On a silo: exactly-once writers spill large epochs to the silo's checkpoint store.</summary>
    ISinkFunction<T> IServiceAwareSink<T>.CreateWriter(string pipelineId, int taskIndex, IServiceProvider services) =>
        CreateWriter(pipelineId, taskIndex, services.GetService(typeof(ICheckpointStore)) as ICheckpointStore);

    internal ISinkFunction<T> CreateWriter(string pipelineId, int taskIndex, ICheckpointStore? spillStore)
    {
        if (Options.Guarantee == DeliveryGuarantee.ExactlyOnce)
        {
            var errors = Options.Validate().Concat(Options.ValidateSpill()).ToList();
            if (Options.SpillThreshold is not null && spillStore is null)
            {
                errors.Add($"{nameof(KafkaSinkOptions.SpillThreshold)} is set, but the silo has no checkpoint store to spill to (AddSluiceCheckpointStorage).");
            }

            if (errors.Count > 0)
            {
                throw new KafkaConfigurationException($"Kafka sink '{Name}' is not configured correctly: {string.Join(" ", errors)}");
            }

            return new KafkaTransactionalWriter<T>(this, pipelineId, taskIndex, spillStore);
        }

        return new Writer(this, new ProducerBuilder<string?, byte[]>(KafkaClients.Producer(Options.ClientConfig, Options.BootstrapServers, $"sink '{Name}'", Options.Topic)).Build());
    }

    private sealed class Writer(KafkaSink<T> sink, IProducer<string?, byte[]> producer) : ISinkFunction<T>, IDisposable
    {
        private bool _disposed;
        private readonly ILogger _logger = sink.LoggerFactory.CreateLogger($"Sluice.Kafka.Sink.{sink.Name}");
        private long _failed;
        private string? _lastError;

        public void Write(T value, SinkContext context)
        {
            var bytes = sink.Serializer.Serialize(value, new SerializationContext(MessageComponentType.Value, sink.Options.Topic));
            var message = new Message<string?, byte[]>
            {
                Key = sink.KeySelector?.Invoke(value),
                Value = bytes,
                Timestamp = context.Timestamp == long.MinValue ? Timestamp.Default : new Timestamp(context.Timestamp, TimestampType.CreateTime),
            };
            while (true)
            {
                try
                {
                    producer.Produce(sink.Options.Topic, message, OnDelivery);
                    return;
                }
                catch (ProduceException<string?, byte[]> ex) when (ex.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
                {
                    // The producer's local queue is full: wait for deliveries instead of dropping.
                    producer.Poll(TimeSpan.FromMilliseconds(100));
                }
            }
        }

        /// <summary>At a barrier: wait until every record produced so far is acknowledged by the brokers.</summary>
        public void Flush()
        {
            producer.Flush(TimeSpan.FromMinutes(2));
            if (Interlocked.Read(ref _failed) > 0)
            {
                throw new KafkaException(new Error(Confluent.Kafka.ErrorCode.Local_MsgTimedOut, $"{_failed} record(s) could not be delivered to '{sink.Options.Topic}'; last error: {_lastError}"));
            }
        }

        public void Finish()
        {
            producer.Flush(TimeSpan.FromMinutes(2));
            Dispose();
            if (Interlocked.Read(ref _failed) > 0)
            {
                throw new KafkaException(new Error(Confluent.Kafka.ErrorCode.Local_MsgTimedOut, $"{_failed} record(s) could not be delivered to '{sink.Options.Topic}'; last error: {_lastError}"));
            }
        }

        /// <summary>
        /// When the task goes (deactivation, restart, shutdown): closes the producer with its connections. Unflushed
        /// records belong to no completed checkpoint and are replayed. Left open, the producer would outlive the task and
        /// log broker errors once the cluster it talks to is gone.
        /// </summary>
        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                producer.Dispose();
            }
        }

        private void OnDelivery(DeliveryReport<string?, byte[]> report)
        {
            if (report.Error.IsError)
            {
                Interlocked.Increment(ref _failed);
                _lastError = report.Error.Reason;
                _logger.LogError("Delivery to {Topic} failed: {Reason}", sink.Options.Topic, report.Error.Reason);
            }
        }
    }
}
