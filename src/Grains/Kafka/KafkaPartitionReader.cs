using Confluent.Kafka;
using Sluice.Sources;

namespace Sluice.Kafka;

/// <summary>
/// Reads one topic partition for the pipeline without blocking: drains what the consumer thread buffered,
/// deserialises it and hands it to the source operators. Opened on the silo that owns the partition's queue.
/// </summary>
internal sealed class KafkaPartitionReader<T>(KafkaSource<T> source, string pipelineId, int partition, IDeserializer<T> format, Lazy<KafkaDeadLetters> deadLetters)
    : ISourceReader<T>, ISourceReaderStatus, ISeekableSourceReader, ICheckpointListeningSourceReader, IDisposable
{
    private KafkaPartitionConsumer? _consumer;
    private long _endOffset = -1;
    private long _nextOffset = -1;
    private long _seekTo = -1;

    /// <summary>
    /// Offset of the next record the pipeline will get: after a read, the one after the last record; before, the seek
    /// target or the start position resolved to a concrete offset. -1 while that is not known yet (the partition is not
    /// opened, or Earliest/Latest not resolved): no barrier may be acknowledged then. A slot whose Kafka partition does
    /// not exist yet is at 0: that is where a partition added to the topic later starts.
    /// </summary>
    public long Position => _nextOffset >= 0 ? _nextOffset : _consumer?.StartOffset ?? (_seekTo < 0 && partition >= source.Discovery.Known ? 0 : -1);

    public void Seek(long position)
    {
        _nextOffset = position;
        if (_consumer is null)
        {
            _seekTo = position; // applied when the consumer is assigned
        }
        else
        {
            _consumer.Seek(position);
        }
    }

    /// <summary>Commits the checkpointed offset to the consumer group so lag tools see it; never read back (the checkpoint is authoritative).</summary>
    public void CheckpointCompleted(long checkpointId, long position) => _consumer?.Commit(position);

    public long DeadLetters { get; private set; }

    /// <summary>The partition's high watermark as the consumer last saw it: the consumer lag is this minus <see cref="Position"/>.</summary>
    public long EndPosition => _consumer?.HighWatermark ?? -1;

    public string? LastError => _lastError ?? source.Discovery.Unread;

    private string? _lastError;

    public SourceReadResult Read(int maxRecords, ISourceOutput<T> output, long nowMilliseconds)
    {
        source.Discovery.RefreshIfDue();
        if (_consumer is null && partition >= source.Discovery.Known)
        {
            // Not in the topic (yet): hold no watermark back; a bounded run has nothing to read here.
            output.Idle();
            return new SourceReadResult(0, source.Options.StopAtEndOffsets);
        }

        var consumer = _consumer ??= Open();
        for (var n = 0; n < maxRecords && consumer.TryRead(out var result); n++)
        {
            _nextOffset = result.Offset.Value + 1;
            var message = result.Message;
            T value;
            try
            {
                value = format.Deserialize(message.Value, message.Value is null, new SerializationContext(MessageComponentType.Value, result.Topic, message.Headers));
            }
            catch (Exception ex)
            {
                DeadLetter(result, ex);
                continue;
            }

            if (output.Record(value, message.Timestamp.UnixTimestampMs) is { } rejected)
            {
                DeadLetter(result, rejected);
            }
        }

        var position = Position;
        var ended = source.Options.StopAtEndOffsets && position >= 0 && consumer.Lag == 0 && (position >= _endOffset || CaughtUpToEnd(consumer));
        return new SourceReadResult(consumer.Lag, ended);
    }

    public void Dispose() => _consumer?.Dispose();

    /// <summary>
    /// The consumer got to the end offset with nothing more to fetch and everything it consumed has been read: the end
    /// of a transactional topic, where the last offsets are commit markers that no record carries.
    /// </summary>
    private bool CaughtUpToEnd(KafkaPartitionConsumer consumer) => consumer.CaughtUpPosition >= _endOffset && consumer.Buffered == 0;

    private KafkaPartitionConsumer Open()
    {
        var options = source.Options;
        var config = KafkaClients.Consumer(options, pipelineId);
        var topicPartition = new TopicPartition(options.Topic, partition);
        // A partition added to the topic after the source was defined is read from its beginning, whatever the start position.
        var start = _seekTo >= 0 ? new Offset(_seekTo)
            : options.StartPosition == KafkaStartPosition.Earliest || partition >= source.Discovery.InitialPartitions ? Offset.Beginning
            : Offset.End;
        if (options.StopAtEndOffsets)
        {
            using var probe = new ConsumerBuilder<byte[], byte[]>(config).Build();
            var offsets = probe.QueryWatermarkOffsets(topicPartition, options.MetadataTimeout);
            _endOffset = offsets.High.Value;
            if (_nextOffset >= 0)
            {
                _nextOffset = Math.Max(_nextOffset, offsets.Low.Value); // a seek below what the partition still holds
            }
        }

        var logger = source.LoggerFactory.CreateLogger($"Sluice.Kafka.{options.Topic}");
        return new KafkaPartitionConsumer(config, topicPartition, start, options.BufferedMessages, logger, options.MetadataTimeout);
    }

    private void DeadLetter(ConsumeResult<byte[]?, byte[]?> result, Exception error)
    {
        DeadLetters++;
        _lastError = $"offset {result.Offset.Value}: {error.GetType().Name}: {error.Message}";
        deadLetters.Value.Send(result, error);
    }
}
