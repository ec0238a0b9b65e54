using Orleans.Providers.Streams.Common;
using Orleans.Streams;
using Sluice.Exchange;
using Sluice.Pipelines;
using Sluice.Tasks;

namespace Sluice.Sources;

/// <summary>
/// The source side of one edge: per-target buffers turned into stream batch containers, one ordered channel
/// per target task, numbered from 1 within the emitter's incarnation (random, drawn when the partition is opened and
/// passed on by a handover). The receiver collects the containers of a pull.
/// </summary>
internal sealed class SourceEmitter : IBufferedOutput
{
    private readonly IRecordBatchBuilder[] _buffers;
    private readonly StreamId[] _streams;
    private readonly long[] _sequences;
    private readonly int _senderChannel;
    private readonly SourcePullContext _pull;

    private readonly long _attempt;
    private long _incarnation = ChannelIncarnations.New();

    public SourceEmitter(PipelinePlan plan, StagePlan target, int senderChannel, int[] targetTasks, IRecordBatchBuilder[] buffers, SourcePullContext pull, long attempt)
    {
        _attempt = attempt;
        _buffers = buffers;
        _senderChannel = senderChannel;
        _pull = pull;
        _streams = new StreamId[buffers.Length];
        _sequences = new long[buffers.Length];
        for (var i = 0; i < buffers.Length; i++)
        {
            _streams[i] = StreamId.Create(SourceStreams.Namespace, PipelinePlan.TaskKey(plan.Id, target.Index, targetTasks[i]));
        }
    }

    public int Targets => _buffers.Length;

    /// <summary>The incarnation this emitter numbers its messages in (what a handover passes on).</summary>
    public long Incarnation => _incarnation;

    /// <summary>The last sequence number sent to each target (what a handover passes on).</summary>
    public long[] Sequences => (long[])_sequences.Clone();

    /// <summary>
    /// Continues a previous owner of this partition: its incarnation and sequences, so every later message follows its
    /// last one on the same channel, with no gap and no new incarnation for the key groups to see.
    /// </summary>
    public void ContinueSequences(long incarnation, long[] previous)
    {
        if (previous.Length != _sequences.Length)
        {
            throw new InvalidOperationException($"A handover had sequences for {previous.Length} targets; this edge has {_sequences.Length}.");
        }

        _incarnation = incarnation;
        Array.Copy(previous, _sequences, _sequences.Length);
    }

    public void OnBufferFull(int target) => Emit(target, _pull.StampedWatermark, ChannelFlags.None);

    /// <summary>Sends buffered records to every target that has some; with <paramref name="everyTarget"/>, a bare message to the others too.</summary>
    public void Flush(long watermark, ChannelFlags flags, bool everyTarget)
    {
        for (var i = 0; i < _buffers.Length; i++)
        {
            if (_buffers[i].Count > 0 || everyTarget)
            {
                Emit(i, watermark, _buffers[i].Count > 0 ? flags & ~ChannelFlags.Idle : flags);
            }
        }
    }

    /// <summary>
    /// Sends Barrier(<paramref name="checkpointId"/>) to every target (buffers must have been flushed), saying whether
    /// the partition is idle: a barrier is no activity, and one that did not say so would count an idle partition's
    /// old watermark in the consumers' minimum again.
    /// </summary>
    public void Barrier(long watermark, long checkpointId, bool idle)
    {
        var flags = idle ? ChannelFlags.Barrier | ChannelFlags.Idle : ChannelFlags.Barrier;
        for (var i = 0; i < _buffers.Length; i++)
        {
            Emit(i, watermark, flags, checkpointId);
        }
    }

    private void Emit(int target, long watermark, ChannelFlags flags, long checkpointId = 0)
    {
        var records = _buffers[target].Count > 0 ? _buffers[target].Build() : null;
        var batch = new ChannelBatch(_senderChannel, ++_sequences[target], watermark, flags, records, checkpointId, _attempt, _incarnation);
        _pull.Add(_streams[target], batch);
    }
}

/// <summary>
/// What the emitters of one source partition share: the receiver's output list and token counter, and the messages
/// emitted that the stream cache has not reported delivered (in emission order).
/// </summary>
internal sealed class SourcePullContext(Func<long> nextToken)
{
    private readonly Queue<SourceBatchContainer> _undelivered = new();
    private long _emitted;

    public List<IBatchContainer> Output { get; set; } = [];

    public ISourcePartitionTask? Origin { get; set; }

    /// <summary>Reader position when the current read began (-1: the reader cannot tell).</summary>
    public long ReadStartPosition { get; set; } = -1;

    /// <summary>The watermark stamped on batches that leave in the middle of a read.</summary>
    public long StampedWatermark { get; set; } = long.MinValue;

    /// <summary>Messages emitted and not yet purged from the cache, oldest first.</summary>
    public IReadOnlyCollection<SourceBatchContainer> Undelivered => _undelivered;

    /// <summary>Adds a message to the current pull's output.</summary>
    public void Add(StreamId stream, ChannelBatch batch)
    {
        var container = new SourceBatchContainer(stream, new EventSequenceTokenV2(nextToken()), batch)
        {
            Origin = Origin,
            ReadStartPosition = ReadStartPosition,
            EmitIndex = ++_emitted,
        };
        Output.Add(container);
        _undelivered.Enqueue(container);
    }

    /// <summary>The cache purged <paramref name="container"/>: it and everything this partition emitted before it were delivered.</summary>
    public void Delivered(SourceBatchContainer container)
    {
        while (_undelivered.TryPeek(out var head) && head.EmitIndex <= container.EmitIndex)
        {
            _undelivered.Dequeue();
        }
    }
}
