using System.Threading.Channels;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Sluice.Kafka;

/// <summary>
/// One Confluent consumer, manually assigned to one partition, consuming on a dedicated thread (never on
/// the Orleans scheduler: Consume blocks) into a bounded channel that the non-blocking reader drains.
/// A full channel stops the thread from consuming, which is the backpressure towards Kafka.
/// </summary>
internal sealed class KafkaPartitionConsumer : IDisposable
{
    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly Channel<ConsumeResult<byte[]?, byte[]?>> _channel;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private readonly ILogger _logger;
    private readonly TopicPartition _partition;
    private long _highWatermark = -1;
    private long _position = -1;
    private long _pendingSeek = -1;
    private long _seekGeneration;
    private CaughtUp? _caughtUp;
    private readonly Offset _start;
    private readonly TimeSpan _metadataTimeout;
    private long _startOffset = -1;
    private long _pendingCommit = -1;
    private long _committed = -1;

    /// <param name="start">A concrete offset, or <see cref="Offset.Beginning"/> / <see cref="Offset.End"/>, which the consumer
    /// thread resolves to the partition's current low / high watermark before it assigns (see <see cref="StartOffset"/>).</param>
    public KafkaPartitionConsumer(ConsumerConfig config, TopicPartition partition, Offset start, int capacity, ILogger logger, TimeSpan? metadataTimeout = null)
    {
        _logger = logger;
        _partition = partition;
        _start = start;
        _metadataTimeout = metadataTimeout ?? TimeSpan.FromSeconds(10);
        _channel = Channel.CreateBounded<ConsumeResult<byte[]?, byte[]?>>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true });
        GroupId = config.GroupId ?? string.Empty;
        _consumer = new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetErrorHandler((_, e) => OnError(e))
            .Build();
        if (!start.IsSpecial)
        {
            _consumer.Assign(new TopicPartitionOffset(partition, start));
            _startOffset = start.Value;
        }

        _thread = new Thread(Run) { IsBackground = true, Name = $"kafka-{partition.Topic}-{partition.Partition.Value}" };
        _thread.Start();
        KafkaSourceInstruments.Track(this);
    }

    public TopicPartition Partition => _partition;

    public string GroupId { get; }

    /// <summary>The partition's high watermark as the consumer last saw it (-1: not known yet).</summary>
    public long HighWatermark => Volatile.Read(ref _highWatermark);

    /// <summary>The offset last committed to the consumer group (-1: none yet).</summary>
    public long CommittedOffset => Volatile.Read(ref _committed);

    /// <summary>
    /// Commits <paramref name="offset"/> to the consumer group, for lag monitoring only, from the consumer thread (a commit
    /// blocks). Only the newest request counts: one still waiting is replaced; the offset last committed is not sent again.
    /// </summary>
    public void Commit(long offset) => Volatile.Write(ref _pendingCommit, offset);

    /// <summary>
    /// The concrete offset reading started at (-1 until the thread resolved Earliest/Latest and assigned the partition).
    /// A checkpoint taken before the first record records this, not "latest": after a restore, reading continues from
    /// the same place, and records produced in between are not skipped.
    /// </summary>
    public long StartOffset => Volatile.Read(ref _startOffset);

    /// <summary>Messages consumed but not yet read plus messages not yet consumed (high watermark - position).</summary>
    public long Lag
    {
        get
        {
            var high = Volatile.Read(ref _highWatermark);
            var position = Volatile.Read(ref _position);
            var unconsumed = high >= 0 && position >= 0 ? Math.Max(0, high - position) : 0;
            return unconsumed + _channel.Reader.Count;
        }
    }

    /// <summary>The last error the client reported, for status and logs.</summary>
    public string? LastError { get; private set; }

    public bool TryRead(out ConsumeResult<byte[]?, byte[]?> result) => _channel.Reader.TryRead(out result!);

    /// <summary>Moves the consumer to <paramref name="offset"/>; what was buffered from before is discarded.</summary>
    public void Seek(long offset)
    {
        Volatile.Write(ref _pendingSeek, offset);
        Interlocked.Increment(ref _seekGeneration);
    }

    /// <summary>Messages consumed and not yet read.</summary>
    public int Buffered => _channel.Reader.Count;

    /// <summary>
    /// Where the consumer stood when it last found nothing more to fetch (past control records of transactions, which
    /// are never handed out), with every record before it already in the channel; -1 when unknown or after a later seek.
    /// Read it before checking that the channel is empty.
    /// </summary>
    public long CaughtUpPosition =>
        Volatile.Read(ref _caughtUp) is { } caughtUp && caughtUp.Generation == Volatile.Read(ref _seekGeneration) ? caughtUp.Position : -1;

    public void Dispose()
    {
        KafkaSourceInstruments.Untrack(this);
        _stop.Cancel();
        _thread.Join(TimeSpan.FromSeconds(10));
        _consumer.Close();
        _consumer.Dispose();
        _stop.Dispose();
    }

    private void Run()
    {
        var token = _stop.Token;
        if (_start.IsSpecial && !AssignResolvedStart(token))
        {
            return;
        }

        while (!token.IsCancellationRequested)
        {
            try
            {
                // Read before taking the seek: a position published for this generation was reached after every seek it counts.
                var generation = Volatile.Read(ref _seekGeneration);
                var seek = Interlocked.Exchange(ref _pendingSeek, -1);
                if (seek >= 0)
                {
                    while (_channel.Reader.TryRead(out _))
                    {
                    }

                    _consumer.Seek(new TopicPartitionOffset(_partition, seek));
                    Volatile.Write(ref _position, seek);
                }

                var commit = Interlocked.Exchange(ref _pendingCommit, -1);
                if (commit >= 0)
                {
                    CommitOffset(commit);
                }

                var result = _consumer.Consume(TimeSpan.FromMilliseconds(100));
                UpdateLag(caughtUp: result is null);
                if (result is null)
                {
                    var position = Volatile.Read(ref _position);
                    var last = Volatile.Read(ref _caughtUp);
                    if (position >= 0 && (last is null || last.Generation != generation || last.Position != position))
                    {
                        Volatile.Write(ref _caughtUp, new CaughtUp(generation, position));
                    }

                    continue;
                }

                if (result.IsPartitionEOF)
                {
                    continue;
                }

                Volatile.Write(ref _position, result.Offset.Value + 1);
                while (!_channel.Writer.TryWrite(result))
                {
                    _channel.Writer.WaitToWriteAsync(token).AsTask().GetAwaiter().GetResult(); // on the consumer's own dedicated thread, never a grain's or the pool's: waiting here is the backpressure
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (ConsumeException ex)
            {
                // Transient broker trouble: librdkafka retries internally; keep the partition flowing.
                LastError = ex.Error.Reason;
                _logger.LogWarning("Consuming {Partition} failed: {Reason}", _partition, ex.Error.Reason);
                Thread.Sleep(100);
            }
        }
    }

    /// <summary>Resolves Earliest/Latest to the partition's current low/high watermark and assigns there; false when stopped first.</summary>
    private bool AssignResolvedStart(CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            try
            {
                var offsets = _consumer.QueryWatermarkOffsets(_partition, _metadataTimeout);
                var resolved = _start == Offset.Beginning ? offsets.Low.Value : offsets.High.Value;
                if (resolved >= 0)
                {
                    _consumer.Assign(new TopicPartitionOffset(_partition, resolved));
                    Volatile.Write(ref _startOffset, resolved);
                    return true;
                }
            }
            catch (KafkaException ex)
            {
                LastError = ex.Error.Reason;
                _logger.LogWarning("Resolving the start offset of {Partition} failed: {Reason}; retrying", _partition, ex.Error.Reason);
            }

            token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(200));
        }

        return false;
    }

    private void CommitOffset(long offset)
    {
        if (offset == Volatile.Read(ref _committed))
        {
            return; // nothing new read since: the group already shows this position
        }

        try
        {
            _consumer.Commit([new TopicPartitionOffset(_partition, offset)]);
            Volatile.Write(ref _committed, offset);
            KafkaSourceInstruments.OffsetCommits.Add(1);
        }
        catch (KafkaException ex)
        {
            // Monitoring only: the next completed checkpoint commits a newer offset.
            LastError = ex.Error.Reason;
            KafkaSourceInstruments.OffsetCommitFailures.Add(1);
            _logger.LogWarning("Committing offset {Offset} of {Partition} to group {Group} failed: {Reason}", offset, _partition, GroupId, ex.Error.Reason);
        }
    }

    /// <param name="caughtUp">Consume returned nothing: everything consumed is in the channel, and the consumer's own
    /// position (past control records of transactions, which are never returned) is where reading stands.</param>
    private void UpdateLag(bool caughtUp)
    {
        var offsets = _consumer.GetWatermarkOffsets(_partition);
        if (offsets.High.Value >= 0)
        {
            Volatile.Write(ref _highWatermark, offsets.High.Value);
        }

        if (Volatile.Read(ref _position) < 0 || caughtUp)
        {
            var position = _consumer.Position(_partition);
            if (position.Value >= 0)
            {
                Volatile.Write(ref _position, position.Value);
            }
        }
    }

    private void OnError(Error error)
    {
        LastError = error.Reason;
        if (error.IsFatal)
        {
            _logger.LogError("Kafka consumer for {Partition} hit a fatal error: {Reason}", _partition, error.Reason);
        }
        else
        {
            _logger.LogDebug("Kafka consumer for {Partition}: {Reason}", _partition, error.Reason);
        }
    }
}

/// <summary>A position the consumer reached with nothing left to fetch, and the seek generation it belongs to.</summary>
internal sealed record CaughtUp(long Generation, long Position);
