using Orleans.Streams;
using Sluice.Exchange;
using Sluice.Operators;
using Sluice.Pipelines;
using Sluice.Status;
using Sluice.Tasks;
using Sluice.Time;

namespace Sluice.Sources;

/// <summary>A source partition as its receiver drives it.</summary>
internal interface ISourcePartitionTask : IDisposable
{
    PipelinePlan Plan { get; }

    /// <summary>Upper bound on the containers one <see cref="Poll"/> adds.</summary>
    int MaxContainersPerPoll { get; }

    bool Ended { get; }

    long RecordsRead { get; }

    long LastBarrier { get; }

    (int Source, int Partition) Identity { get; }

    /// <summary>The source's name in the plan (the <c>source</c> tag of its metrics).</summary>
    string SourceName { get; }

    /// <summary>The pipeline attempt this partition reads for; a restart reopens it for the next one.</summary>
    long Attempt { get; }

    /// <summary>
    /// False while a seekable reader cannot tell its position (e.g. Kafka resolving Earliest/Latest): a barrier waits, as
    /// a checkpoint that recorded no position would resume from the start position instead of where reading stood.
    /// </summary>
    bool CanTakeBarrier { get; }

    long InjectBarrier(long checkpointId, List<IBatchContainer> output);

    /// <summary>Continues reading at a checkpointed position.</summary>
    void Seek(long position);

    /// <summary>
    /// Checkpoint <paramref name="checkpointId"/> (and every one before it) completed: a reader that listens hears of the
    /// position this partition recorded for the newest of its barriers up to it. Cheap when there is nothing to tell.
    /// </summary>
    void CheckpointCompleted(long checkpointId);

    /// <summary>The watermark this partition has reached (sent with its barriers).</summary>
    long Watermark { get; }

    /// <summary>True when the partition counts as idle (sent with its barriers).</summary>
    bool Idle { get; }

    /// <summary>Continues from the watermark and idleness recorded with the checkpointed position.</summary>
    void RestoreWatermark(long watermark, bool idle);

    /// <summary>Position before which everything this partition read has been delivered to its consumers (-1: unknown).</summary>
    long DeliveredPosition { get; }

    /// <summary>The cache purged <paramref name="container"/>, one of this partition's: it and all emitted before it were delivered.</summary>
    void MarkDelivered(SourceBatchContainer container);

    /// <summary>Why the partition stopped reading in its attempt (a user function failed under <see cref="ErrorPolicy.Fail"/>), or null.</summary>
    string? Failure { get; }

    /// <summary>True while messages handed over by the partition's previous owner are being sent again (no barrier may pass them).</summary>
    bool Replaying { get; }

    /// <summary>Where this partition stands and what it emitted that may be undelivered; null when its reader cannot seek.</summary>
    SourceHandover? HandOver();

    /// <summary>Continues where the previous owner handed over: its position, watermark, sequences and undelivered messages.</summary>
    void TakeOver(SourceHandover handover);

    void Poll(long now, List<IBatchContainer> output);

    SourceReport Report();
}

/// <summary>
/// Reads one source partition, runs the chain fused after the source (timestamps, map, filter...), routes
/// records to the key groups of the next stage and stamps the partition's watermark on what it sends.
/// The partition counts as idle only when it has no backlog and has been silent for the idle timeout;
/// a lagging partition always holds the watermark back.
/// </summary>
internal sealed class SourcePartitionTask<T> : ISourcePartitionTask, ISourceOutput<T>
{
    private readonly SourcePlan _source;
    private readonly int _partition;
    private readonly Sources.ISourceReader<T> _reader;
    private readonly IRecordSink<T> _chain;
    private readonly SourceTaskContext _context;
    private readonly SourcePullContext _pull;
    private readonly long _watermarkInterval;
    private long _recordsRead;
    private long _backlog;
    private long _lastActivity;
    // 0 means never: `now - 0` is always past the interval. long.MinValue would overflow that subtraction to a
    // negative number, so no broadcast (periodic watermark, idleness) would ever be due.
    private long _lastBroadcastAt;
    private long _broadcastWatermark = long.MinValue;
    private bool _broadcastIdle;
    private bool _idle;
    // Idle until the next record or watermark: marked so by the reader (ISourceOutput.Idle), or idle at the checkpoint
    // (or handover) this partition was restored from, as it was in the run that took it, rather than holding the
    // watermark back for a whole idle timeout.
    private bool _markedIdle;
    private readonly Queue<HandedOverMessage> _replay = new();
    private readonly BarrierPositions _barrierPositions;

    public SourcePartitionTask(SourcePlan source, int partition, Sources.ISourceReader<T> reader, SourceTaskContext context, SourcePullContext pull, IRecordSink<T> chain)
    {
        _source = source;
        _partition = partition;
        _reader = reader;
        _context = context;
        _pull = pull;
        _chain = chain;
        _barrierPositions = new BarrierPositions(reader as ICheckpointListeningSourceReader);
        _watermarkInterval = (long)context.Plan.Options.WatermarkInterval.TotalMilliseconds;
        var targets = context.Emitters.Sum(e => e.Targets);
        MaxContainersPerPoll = (2 * targets) + (context.Plan.Options.SourceBatchSize / context.Plan.Options.BufferSize) + 2;
    }

    public PipelinePlan Plan => _context.Plan;

    public int MaxContainersPerPoll { get; }

    public bool Ended { get; private set; }

    public long RecordsRead => _recordsRead;

    public (int Source, int Partition) Identity => (_source.Index, _partition);

    public string SourceName => _source.Name;

    public long Attempt => _context.Attempt;

    /// <summary>The last checkpoint this partition emitted a barrier for.</summary>
    public long LastBarrier { get; private set; }

    public bool CanTakeBarrier => _reader is not ISeekableSourceReader seekable || seekable.Position >= 0;

    /// <summary>
    /// Emits Barrier(<paramref name="checkpointId"/>) on every output after what was read so far, and returns the
    /// position to resume from after a restore (-1 when the reader cannot seek).
    /// </summary>
    public long InjectBarrier(long checkpointId, List<IBatchContainer> output)
    {
        LastBarrier = checkpointId;
        var position = (_reader as ISeekableSourceReader)?.Position ?? -1;
        _pull.Output = output;
        _pull.Origin = this;
        _pull.ReadStartPosition = position;
        _barrierPositions.Injected(checkpointId, position);
        foreach (var emitter in _context.Emitters)
        {
            // After the input ended, barriers still flow: tasks downstream take part in every checkpoint, and a
            // transactional sink's last epoch is committed by the first checkpoint after the end.
            emitter.Flush(_pull.StampedWatermark, ChannelFlags.None, everyTarget: false);
            emitter.Barrier(_pull.StampedWatermark, checkpointId, _idle);
        }

        return position;
    }

    public void CheckpointCompleted(long checkpointId) => _barrierPositions.Completed(checkpointId);

    public long DeliveredPosition { get; private set; } = -1;

    public void MarkDelivered(SourceBatchContainer container)
    {
        DeliveredPosition = Math.Max(DeliveredPosition, container.ReadStartPosition);
        _pull.Delivered(container);
    }

    public bool Replaying => _replay.Count > 0;

    public SourceHandover? HandOver()
    {
        if (_reader is not ISeekableSourceReader seekable)
        {
            return null;
        }

        var undelivered = new List<HandedOverMessage>(_pull.Undelivered.Count + _replay.Count);
        foreach (var container in _pull.Undelivered)
        {
            undelivered.Add(new HandedOverMessage(container.StreamId, container.Batch));
        }

        undelivered.AddRange(_replay); // taken over and not sent again yet: still owed, after the ones above
        return new SourceHandover
        {
            Attempt = Attempt,
            Position = seekable.Position,
            Watermark = Watermark,
            LastBarrier = LastBarrier,
            RecordsRead = _recordsRead,
            Sequences = _context.Emitters.ConvertAll(e => e.Sequences).ToArray(),
            Incarnations = _context.Emitters.ConvertAll(e => e.Incarnation).ToArray(),
            Idle = _idle,
            Undelivered = undelivered,
        };
    }

    public void TakeOver(SourceHandover handover)
    {
        Seek(handover.Position);
        RestoreWatermark(handover.Watermark, handover.Idle);
        if (handover.Sequences.Length != _context.Emitters.Count || handover.Incarnations.Length != _context.Emitters.Count)
        {
            throw new InvalidOperationException($"A handover of partition {_partition} of '{_source.Name}' had {handover.Sequences.Length} outputs; this plan has {_context.Emitters.Count}.");
        }

        for (var i = 0; i < handover.Sequences.Length; i++)
        {
            _context.Emitters[i].ContinueSequences(handover.Incarnations[i], handover.Sequences[i]);
        }

        LastBarrier = handover.LastBarrier;
        _recordsRead = handover.RecordsRead;
        foreach (var message in handover.Undelivered)
        {
            _replay.Enqueue(message);
        }
    }

    public void Seek(long position)
    {
        if (_reader is not ISeekableSourceReader seekable)
        {
            throw new InvalidOperationException($"Source '{_source.Name}' cannot seek, so pipeline '{Plan.Id}' cannot resume it from a checkpoint.");
        }

        seekable.Seek(position);
    }

    public long Watermark => _context.Watermark.Current;

    public bool Idle => _idle;

    public void RestoreWatermark(long watermark, bool idle)
    {
        _context.Watermark.EmitWatermark(watermark);
        _idle = idle;
        _markedIdle = idle;
    }

    public string? Failure { get; private set; }

    public void Poll(long now, List<IBatchContainer> output)
    {
        if (Ended || Failure is not null)
        {
            return;
        }

        _pull.Output = output;
        _pull.Origin = this;
        if (_replay.Count > 0)
        {
            // Taken over: the previous owner's undelivered messages go first, as they were, then reading resumes.
            _pull.ReadStartPosition = -1;
            for (var i = 0; i < MaxContainersPerPoll && _replay.TryDequeue(out var message); i++)
            {
                _pull.Add(message.Stream, message.Batch);
            }

            return;
        }

        _pull.ReadStartPosition = (_reader as ISeekableSourceReader)?.Position ?? -1;
        var before = _recordsRead;
        var result = _reader.Read(Plan.Options.SourceBatchSize, this, now);
        _backlog = result.Backlog;
        if (_recordsRead > before || _lastActivity == 0)
        {
            _lastActivity = now;
        }

        foreach (var emit in _context.PeriodicWatermarkEmitters)
        {
            emit();
        }

        if (result.Ended)
        {
            Ended = true;
            _pull.StampedWatermark = long.MaxValue;
            FlushAll(long.MaxValue, ChannelFlags.EndOfInput, everyTarget: true);
            return;
        }

        var watermark = _context.Watermark.Current;
        _idle = _markedIdle
            || _context.Watermark.GeneratorIdle
            || (_context.IdleTimeout is { } timeout && _backlog == 0 && now - _lastActivity >= (long)timeout.TotalMilliseconds);
        var changed = watermark != _broadcastWatermark || _idle != _broadcastIdle;
        var due = changed && now - _lastBroadcastAt >= _watermarkInterval;
        _pull.StampedWatermark = watermark;
        if (_idle && _recordsRead > before)
        {
            // Records read before the partition went idle (the reader marked it so after them) leave first; a batch with
            // records is activity, so every target then hears of the idleness in a message of its own.
            FlushAll(watermark, ChannelFlags.None, everyTarget: false);
            due = true;
        }

        FlushAll(watermark, _idle ? ChannelFlags.Idle : ChannelFlags.None, everyTarget: due);
        if (due)
        {
            _lastBroadcastAt = now;
            _broadcastWatermark = watermark;
            _broadcastIdle = _idle;
        }
    }

    public SourceReport Report()
    {
        var status = _reader as ISourceReaderStatus;
        return new(
            _source.Index, _partition, _recordsRead, _context.Watermark.Current, _idle, _backlog, Ended,
            _context.Counters.InvalidRecords, status?.LastError ?? _context.Errors.LastError, status?.DeadLetters ?? 0)
        {
            Failure = Failure,
            Position = (_reader as ISeekableSourceReader)?.Position ?? -1,
            EndPosition = status?.EndPosition ?? -1,
        };
    }

    public void Dispose() => (_reader as IDisposable)?.Dispose();

    Exception? ISourceOutput<T>.Record(T value, long timestamp)
    {
        _recordsRead++;
        _markedIdle = false;
        if (Failure is not null)
        {
            return null; // stopped: the attempt's restart (or the FAILED pipeline) decides what happens to the rest
        }

        try
        {
            _chain.Push(value, timestamp);
            return null;
        }
        catch (Exception ex) when (_context.Errors.FailsTask || UserErrorReporter.Unwrap(ex) is UserFunctionException)
        {
            // The partition reads nothing more and takes no barrier in this attempt, so no checkpoint can complete
            // past this record; its receiver reports the failure (with checkpoints the pipeline restarts).
            var failure = UserErrorReporter.Unwrap(ex);
            Failure = failure is UserFunctionException ? failure.Message : _context.Errors.Describe(failure, $"processing record {_recordsRead - 1} of partition {_partition}");
            return null;
        }
        catch (Exception ex)
        {
            _context.Counters.InvalidRecords++;
            _context.Errors.Report(ex, $"processing record {_recordsRead - 1} of partition {_partition}");
            return ex;
        }
    }

    void ISourceOutput<T>.Idle() => _markedIdle = true;

    void ISourceOutput<T>.Watermark(long watermark)
    {
        // An explicit watermark: what was read before it leaves first, stamped with it, and every target
        // hears of it now, so no record read after it is processed before it.
        _markedIdle = false;
        _context.Watermark.EmitWatermark(watermark);
        var current = _context.Watermark.Current;
        _pull.StampedWatermark = current;
        FlushAll(current, ChannelFlags.None, everyTarget: true);
        _broadcastWatermark = current;
        _broadcastIdle = false;
    }

    private void FlushAll(long watermark, ChannelFlags flags, bool everyTarget)
    {
        foreach (var emitter in _context.Emitters)
        {
            emitter.Flush(watermark, flags, everyTarget);
        }
    }
}
