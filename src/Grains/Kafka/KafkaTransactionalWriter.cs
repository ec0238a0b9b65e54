using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Sluice.Functions;
using Sluice.Sinks;
using Sluice.Storage;

namespace Sluice.Kafka;

/// <summary>
/// One exactly-once task of a <see cref="KafkaSink{T}"/>. Records are serialised into the open epoch; at Barrier(n) the
/// epoch is sealed and its compressed records become the transaction handle the checkpoint keeps (write-ahead). When
/// checkpoint n completes (or a restore commits it again) the epoch is produced in ONE Kafka transaction together with
/// its commit marker, under a transactional id stable per (prefix, pipeline, sink task), so a restarted task fences its
/// predecessor. An epoch whose marker is committed already is never produced again.
/// </summary>
/// <remarks>
/// librdkafka calls block, so prepare and commit run on the thread pool, never on the grain's scheduler; the sink task
/// awaits them (nothing is left running when the task moves or deactivates). Commits of one task never overlap (the
/// task awaits each before the next), so the producer is used by one thread at a time; the lock guards only the state
/// shared with <see cref="Dispose"/> and <see cref="PrepareAsync"/>, never a blocking call. Every output record carries
/// its sink task and epoch in headers.
/// </remarks>
internal sealed class KafkaTransactionalWriter<T> : ITransactionalSink<T>, IMovableSink, IRestoredSink, IDisposable
{
    private const int MaxTransactionAttempts = 3;
    private static readonly TimeSpan MarkerReadTimeout = TimeSpan.FromSeconds(60);
    private readonly KafkaSink<T> _sink;
    private readonly string _pipelineId;
    private readonly int _taskIndex;
    private readonly string _transactionalId;
    private readonly string _markerPrefix;
    private readonly byte[] _taskHeader;
    private readonly ILogger _logger;
    private readonly KeyValuePair<string, object?> _pipelineTag;
    private readonly KeyValuePair<string, object?> _sinkTag;
    private readonly KafkaTaskSpills _spills;
    private readonly KafkaEpochBuffer _open = new();
    private readonly HashSet<long> _preparedHere = [];
    private readonly Lock _gate = new();
    private IProducer<string?, byte[]>? _producer;
    private HashSet<(long Epoch, long Nonce)>? _committed;
    private bool _checked;
    private bool _committing;
    private bool _disposed;

    public KafkaTransactionalWriter(KafkaSink<T> sink, string pipelineId, int taskIndex, ICheckpointStore? spillStore = null)
    {
        _sink = sink;
        _pipelineId = pipelineId;
        _taskIndex = taskIndex;
        _transactionalId = TransactionalIdOf(sink, pipelineId, taskIndex);
        _markerPrefix = KafkaCommitMarkers.KeyPrefix(pipelineId, sink.Name, taskIndex);
        _taskHeader = Encoding.UTF8.GetBytes(taskIndex.ToString(CultureInfo.InvariantCulture));
        _pipelineTag = new(KafkaSinkInstruments.PipelineTag, pipelineId);
        _sinkTag = new(KafkaSinkInstruments.SinkTag, sink.Name);
        _logger = sink.LoggerFactory.CreateLogger($"Sluice.Kafka.Sink.{sink.Name}");
        _spills = new KafkaTaskSpills(spillStore, pipelineId, sink.Name, taskIndex, sink.Options.SpillThreshold, _logger);
    }

    public string TransactionalId => _transactionalId;

    public static string TransactionalIdOf(KafkaSink<T> sink, string pipelineId, int taskIndex) =>
        $"{sink.Options.TransactionalIdPrefix}-{pipelineId}-{sink.Name}-{taskIndex}";

    public void Write(T value, SinkContext context)
    {
        var bytes = _sink.Serializer.Serialize(value, new SerializationContext(MessageComponentType.Value, _sink.Options.Topic));
        _open.Append(_sink.KeySelector?.Invoke(value), context.Timestamp, bytes);
    }

    public Task<byte[]?> PrepareAsync(long checkpointId, CancellationToken cancellationToken)
    {
        // Synchronous part: take the epoch, so records written from now on belong to the next one.
        if (_open.Seal() is not { } records)
        {
            return Task.FromResult<byte[]?>(null);
        }

        lock (_gate)
        {
            _preparedHere.Add(checkpointId);
        }

        return Task.Run<byte[]?>(
            async () =>
            {
                var handle = records.ToHandle();
                KafkaSinkInstruments.WriteAheadBytes.Add(handle.Length, _pipelineTag, _sinkTag);
                // Too large for the checkpoint: the checkpoint keeps a reference to a blob beside it.
                return _spills.Spills(handle.Length) ? await _spills.SpillAsync(checkpointId, handle) : handle;
            },
            CancellationToken.None);
    }

    public Task CommitAsync(long checkpointId, byte[] transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return Task.Run(() => CommitEpochAsync(checkpointId, transaction), CancellationToken.None);
    }

    public Task DiscardUnreferencedAsync(IReadOnlyList<byte[]> pending) => _spills.DiscardUnreferencedAsync(pending);

    public byte[] ExportOpenEpoch() => _open.Seal()?.ToHandle() ?? [];

    public void ImportOpenEpoch(ReadOnlySpan<byte> epoch)
    {
        var records = KafkaEpochBuffer.Read(epoch.ToArray());
        while (records.TryRead(out var key, out var timestamp, out var value))
        {
            _open.Append(key, timestamp, value);
        }
    }

    /// <summary>
    /// Closes the producer; an open transaction is aborted by the broker (or by the next task with this id). Never waits
    /// for a commit in flight (the grain's thread must not block): that commit closes the producer when it ends.
    /// </summary>
    public void Dispose()
    {
        IProducer<string?, byte[]>? producer = null;
        lock (_gate)
        {
            _disposed = true;
            if (!_committing)
            {
                producer = _producer;
                _producer = null;
            }
        }

        producer?.Dispose();
    }

    private async Task CommitEpochAsync(long epoch, byte[] handle)
    {
        await EnsureStartedAsync();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _committing = true;
        }

        try
        {
            _committed ??= ReadMarkers();
            if (!KafkaEpochSpill.IsReference(handle))
            {
                CommitEpoch(epoch, handle);
                return;
            }

            if (_committed.Contains((epoch, KafkaEpochBuffer.NonceOf(handle))))
            {
                // Committed before (the task went away before it deleted the blob, or this is a later checkpoint naming it).
                CommitEpoch(epoch, handle);
                await _spills.DeleteCommittedAsync(handle);
                return;
            }

            // Spilled: read only when the epoch still has to be produced (a committed one may be gone already).
            CommitEpoch(epoch, await _spills.ReadAsync(handle));
            await _spills.DeleteCommittedAsync(handle);
        }
        finally
        {
            IProducer<string?, byte[]>? orphan = null;
            lock (_gate)
            {
                _committing = false;
                if (_disposed)
                {
                    orphan = _producer;
                    _producer = null;
                }
            }

            orphan?.Dispose();
        }
    }

    private void CommitEpoch(long epoch, byte[] handle)
    {
        var committed = _committed ??= ReadMarkers();
        var marker = (epoch, KafkaEpochBuffer.NonceOf(handle));
        if (committed.Contains(marker))
        {
            Skip(epoch);
            return;
        }

        bool reproduced;
        lock (_gate)
        {
            reproduced = !_preparedHere.Remove(epoch);
        }

        for (var attempt = 1; ; attempt++)
        {
            var producer = _producer ??= CreateProducer();
            var started = Stopwatch.GetTimestamp();
            try
            {
                Hook(KafkaTransactionStep.Beginning, epoch);
                Produce(producer, epoch, marker.Item2, KafkaEpochBuffer.Read(handle));
                committed.Add(marker);
                KafkaSinkInstruments.TransactionsCommitted.Add(1, _pipelineTag, _sinkTag);
                KafkaSinkInstruments.CommitLatency.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, _pipelineTag, _sinkTag);
                if (reproduced)
                {
                    KafkaSinkInstruments.EpochsReproduced.Add(1, _pipelineTag, _sinkTag);
                }

                Hook(KafkaTransactionStep.Committed, epoch);
                return;
            }
            catch (KafkaException ex)
            {
                _logger.LogWarning("Kafka sink '{Sink}' ({TransactionalId}): the transaction of epoch {Epoch} failed (attempt {Attempt}): {Reason}", _sink.Name, _transactionalId, epoch, attempt, ex.Error.Reason);
                Abort(producer, ex);
                if (attempt >= MaxTransactionAttempts || ex.Error.IsFatal)
                {
                    throw;
                }

                // A commit whose outcome was unknown may have landed after all: ask the markers again before producing
                // the epoch a second time, once a new InitTransactions (if the producer was replaced) has settled what the
                // broker held for this transactional id.
                _producer ??= CreateProducer();
                _committed = committed = ReadMarkers();
                if (committed.Contains(marker))
                {
                    Skip(epoch);
                    return;
                }
            }
            catch
            {
                // Not a Kafka failure (a hook): the transaction's state is unknown, so the producer goes; the next one's
                // InitTransactions aborts what this one left open.
                producer.Dispose();
                _producer = null;
                throw;
            }
        }
    }

    private void Skip(long epoch)
    {
        KafkaSinkInstruments.EpochsAlreadyCommitted.Add(1, _pipelineTag, _sinkTag);
        lock (_gate)
        {
            _preparedHere.Remove(epoch);
        }
    }

    private void Produce(IProducer<string?, byte[]> producer, long epoch, long nonce, KafkaEpochRecords records)
    {
        var headers = new Headers { { KafkaCommitMarkers.TaskHeader, _taskHeader }, { KafkaCommitMarkers.EpochHeader, Encoding.UTF8.GetBytes(epoch.ToString(CultureInfo.InvariantCulture)) } };
        producer.BeginTransaction();
        var topic = _sink.Options.Topic;
        while (records.TryRead(out var key, out var timestamp, out var value))
        {
            Send(producer, topic, new Message<string?, byte[]>
            {
                Key = key,
                Value = value,
                Timestamp = timestamp == long.MinValue ? Timestamp.Default : new Timestamp(timestamp, TimestampType.CreateTime),
                Headers = headers,
            });
        }

        if (_sink.TransactionHook is not null)
        {
            // A hooked step sees the records on the brokers, not in the producer's queue (the commit flushes anyway).
            producer.Flush(_sink.Options.TransactionTimeout);
            Hook(KafkaTransactionStep.RecordsProduced, epoch);
        }
        Send(producer, _sink.Options.CommitMarkerTopic, new Message<string?, byte[]> { Key = _markerPrefix + epoch.ToString(CultureInfo.InvariantCulture), Value = KafkaCommitMarkers.Value(epoch, nonce), Headers = headers });
        Hook(KafkaTransactionStep.Committing, epoch);
        for (var retry = 0; ; retry++)
        {
            try
            {
                producer.CommitTransaction(_sink.Options.TransactionTimeout);
                return;
            }
            catch (KafkaRetriableException) when (retry < 5)
            {
                // The commit's outcome is not known yet: committing again is how librdkafka resolves it.
            }
        }
    }

    private static void Send(IProducer<string?, byte[]> producer, string topic, Message<string?, byte[]> message)
    {
        while (true)
        {
            try
            {
                producer.Produce(topic, message);
                return;
            }
            catch (ProduceException<string?, byte[]> ex) when (ex.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(100));
            }
        }
    }

    /// <summary>Aborts the failed transaction; a producer that cannot abort (or hit a fatal error) is replaced, and the new one's InitTransactions fences and aborts what is left.</summary>
    private void Abort(IProducer<string?, byte[]> producer, KafkaException failure)
    {
        KafkaSinkInstruments.TransactionsAborted.Add(1, _pipelineTag, _sinkTag);
        if (!failure.Error.IsFatal)
        {
            try
            {
                producer.AbortTransaction(_sink.Options.TransactionTimeout);
                return;
            }
            catch (KafkaException ex)
            {
                _logger.LogWarning("Kafka sink '{Sink}' ({TransactionalId}): abort failed ({Reason}); the producer is replaced.", _sink.Name, _transactionalId, ex.Error.Reason);
            }
        }

        producer.Dispose();
        _producer = null;
    }

    private IProducer<string?, byte[]> CreateProducer() => CreateProducer(_transactionalId);

    private IProducer<string?, byte[]> CreateProducer(string transactionalId)
    {
        var options = _sink.Options;
        var config = KafkaClients.Producer(options.ClientConfig, options.BootstrapServers, $"sink '{_sink.Name}'", options.Topic);
        config.TransactionalId = transactionalId;
        config.TransactionTimeoutMs = (int)options.TransactionTimeout.TotalMilliseconds;
        config.MessageTimeoutMs = Math.Min(config.MessageTimeoutMs ?? int.MaxValue, config.TransactionTimeoutMs.Value); // librdkafka requires it
        var producer = new ProducerBuilder<string?, byte[]>(config).Build();
        try
        {
            // Fences the previous producer with this id and aborts the transaction it left open.
            producer.InitTransactions(options.TransactionTimeout);
            return producer;
        }
        catch
        {
            producer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// This task's committed epochs. On its first read, task <c>i</c> also initialises (fencing them and aborting what they
    /// left open) the transactional ids of the sink tasks that have markers but no longer exist because the parallelism
    /// was lowered, those whose index is <c>i</c> modulo the parallelism: the tasks whose pending epochs it adopted after
    /// the restore, and commits through a writer of their own id, one at a time with its own commits.
    /// </summary>
    private HashSet<(long Epoch, long Nonce)> ReadMarkers()
    {
        var options = _sink.Options;
        var producerConfig = KafkaClients.Admin(options.ClientConfig, options.BootstrapServers, $"sink '{_sink.Name}'", options.CommitMarkerTopic);
        var byTask = KafkaCommitMarkers.Read(new ConsumerConfig(producerConfig) { GroupId = _transactionalId + "-markers" }, options.CommitMarkerTopic, KafkaCommitMarkers.SinkPrefix(_pipelineId, _sink.Name), MarkerReadTimeout);
        if (_taskIndex < _sink.Parallelism && _committed is null)
        {
            foreach (var task in byTask.Keys.Where(t => t >= _sink.Parallelism && t % _sink.Parallelism == _taskIndex).Order())
            {
                var retired = TransactionalIdOf(_sink, _pipelineId, task);
                _logger.LogInformation("Kafka sink '{Sink}': sink task {Task} no longer exists (parallelism {Parallelism}); aborting what {TransactionalId} left open.", _sink.Name, task, _sink.Parallelism, retired);
                CreateProducer(retired).Dispose();
                Hook(KafkaTransactionStep.RetiredTaskAborted, -1, retired);
            }
        }

        return byTask.TryGetValue(_taskIndex, out var epochs) ? epochs : [];
    }

    private void Hook(KafkaTransactionStep step, long epoch, string? transactionalId = null) =>
        _sink.TransactionHook?.Invoke(step, transactionalId ?? _transactionalId, epoch);

    private async Task EnsureStartedAsync()
    {
        if (Volatile.Read(ref _checked))
        {
            return;
        }

        var options = _sink.Options;
        using var admin = new AdminClientBuilder(KafkaClients.Admin(options.ClientConfig, options.BootstrapServers, $"sink '{_sink.Name}'", options.Topic)).Build();
        await KafkaTransactionTimeout.CheckAsync(admin, _sink.Name, options.TransactionTimeout, _logger);
        await KafkaCommitMarkers.EnsureTopicAsync(admin, options.CommitMarkerTopic, _logger);
        Volatile.Write(ref _checked, true);
    }
}
