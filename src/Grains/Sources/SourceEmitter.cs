using Orleans.Providers.Streams.Common;
using Orleans.Streams;
using Sluice.Exchange;
using Sluice.Pipelines;
using Sluice.Tasks;

namespace Sluice.Sources;

/// <summary>
/// The source side of one edge: per-target buffers turned into stream batch containers, one ordered channel
/// (sequence numbers from 1) per target task. The receiver collects the containers of a pull.
/// </summary>
internal sealed class SourceEmitter : IBufferedOutput
{
    private readonly IRecordBatchBuilder[] _buffers;
    private readonly StreamId[] _streams;
    private readonly long[] _sequences;
    private readonly int _senderChannel;
    private readonly SourcePullContext _pull;

    private readonly long _attempt;

    public SourceEmitter(PipelinePlan plan, StagePlan target, int senderChannel, int[] targetTasks, IRecordBatchBuilder[] buffers, SourcePullContext pull, long attempt)
    {
        _attempt = attempt;
        _buffers = buffers;
        _senderChannel = senderChannel;
        _pull = pull;
        _streams = new StreamId[buffers.Length];
        _sequences = new long[buffers.Length];
        Array.Fill(_sequences, ChannelSequences.FirstOfIncarnation());
        for (var i = 0; i < buffers.Length; i++)
        {
            _streams[i] = StreamId.Create(SourceStreams.Namespace, PipelinePlan.TaskKey(plan.Id, target.Index, targetTasks[i]));
        }
    }

    public int Targets => _buffers.Length;

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

    /// <summary>Sends Barrier(<paramref name="checkpointId"/>) to every target (buffers must have been flushed).</summary>
    public void Barrier(long watermark, long checkpointId)
    {
        for (var i = 0; i < _buffers.Length; i++)
        {
            Emit(i, watermark, ChannelFlags.Barrier, checkpointId);
        }
    }

    private void Emit(int target, long watermark, ChannelFlags flags, long checkpointId = 0)
    {
        var records = _buffers[target].Count > 0 ? _buffers[target].Build() : null;
        var batch = new ChannelBatch(_senderChannel, ++_sequences[target], watermark, flags, records, checkpointId, _attempt);
        _pull.Output.Add(new SourceBatchContainer(_streams[target], new EventSequenceTokenV2(_pull.NextToken()), batch)
        {
            Origin = _pull.Origin,
            ReadStartPosition = _pull.ReadStartPosition,
        });
    }
}

/// <summary>What the emitters of one source partition share: the receiver's output list and token counter.</summary>
internal sealed class SourcePullContext(Func<long> nextToken)
{
    public List<IBatchContainer> Output { get; set; } = [];

    public ISourcePartitionTask? Origin { get; set; }

    /// <summary>Reader position when the current read began (-1: the reader cannot tell).</summary>
    public long ReadStartPosition { get; set; } = -1;

    /// <summary>The watermark stamped on batches that leave in the middle of a read.</summary>
    public long StampedWatermark { get; set; } = long.MinValue;

    public long NextToken() => nextToken();
}
