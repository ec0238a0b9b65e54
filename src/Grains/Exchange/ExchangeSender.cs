using Microsoft.Extensions.Logging;
using Sluice.KeyGroups;
using Sluice.Migration;
using Sluice.Pipelines;
using Sluice.Tasks;

namespace Sluice.Exchange;

/// <summary>
/// The sending end of one edge of a task: an ordered channel per target task, each with at most one call in
/// flight. A batch is sent when its buffer fills or on the buffer timeout; a failed call is retried with the
/// same sequence number (the receiver drops the copy if the first one did arrive). Sequence numbers count from 1
/// within the sender's incarnation, drawn at random when it is created and carried when its key group migrates. Watermarks ride on data
/// batches; a bare watermark goes out only when it changed, at most once per exchange watermark interval.
/// Runs on the owning grain's scheduler, so it needs no locks.
/// </summary>
internal sealed class ExchangeSender : IBufferedOutput, IStageOutput
{
    private readonly Channel[] _channels;
    private readonly IRecordBatchBuilder[] _buffers;
    private readonly PipelineOptions _options;
    private readonly ILogger _logger;
    private readonly Func<long> _clock;
    private readonly Action<string> _onFatal;
    private long _watermark = long.MinValue;
    private bool _idle;
    private bool _ended;
    private long _lastBareWatermarkAt;
    private bool _stopped;
    private readonly long _attempt;
    private readonly LastSiloDeparture _departure;
    private long _incarnation = ChannelIncarnations.New();

    public ExchangeSender(
        IGrainFactory grains, PipelinePlan plan, StagePlan target, int senderChannel, int[] targetTasks, IRecordBatchBuilder[] buffers,
        ILogger logger, Func<long> clock, Action<string> onFatal, long attempt, LastSiloDeparture departure)
    {
        _departure = departure;
        _attempt = attempt;
        _buffers = buffers;
        _options = plan.Options;
        _logger = logger;
        _clock = clock;
        _onFatal = onFatal;
        _channels = new Channel[buffers.Length];
        for (var i = 0; i < _channels.Length; i++)
        {
            var key = PipelinePlan.TaskKey(plan.Id, target.Index, targetTasks[i]);
            _channels[i] = new Channel(grains.GetGrain<IKeyGroupGrain>(key), senderChannel, key);
        }
    }

    public long BatchesSent { get; private set; }

    public long BareWatermarksSent { get; private set; }

    public long Retries { get; private set; }

    public void OnBufferFull(int target) => Send(target, ChannelFlags.None);

    public void OnWatermark(long watermark) => _watermark = Math.Max(_watermark, watermark);

    public void OnIdle(bool idle) => _idle = idle;

    public void OnEndOfInput()
    {
        _ended = true;
        _watermark = long.MaxValue;
        for (var i = 0; i < _channels.Length; i++)
        {
            Send(i, ChannelFlags.EndOfInput);
        }
    }

    /// <summary>Sends what is buffered, then Barrier(<paramref name="checkpointId"/>) on every channel (saying whether this task is idle).</summary>
    public void Barrier(long checkpointId)
    {
        var flags = _idle ? ChannelFlags.Barrier | ChannelFlags.Idle : ChannelFlags.Barrier;
        for (var i = 0; i < _channels.Length; i++)
        {
            if (_buffers[i].Count > 0)
            {
                Send(i, ChannelFlags.None);
            }

            Send(i, flags, checkpointId);
        }
    }

    /// <summary>Sends buffered records (on the buffer timeout) and due bare watermarks.</summary>
    public void OnTick(long now)
    {
        if (_ended)
        {
            return;
        }

        var watermarkDue = now - _lastBareWatermarkAt >= (long)_options.ExchangeWatermarkInterval.TotalMilliseconds;
        var sentBare = false;
        for (var i = 0; i < _channels.Length; i++)
        {
            var channel = _channels[i];
            if (_buffers[i].Count > 0)
            {
                Send(i, ChannelFlags.None);
            }
            else if (watermarkDue && channel.Pending.Count == 0 && (channel.SentWatermark < _watermark || channel.SentIdle != _idle))
            {
                Send(i, _idle ? ChannelFlags.Idle : ChannelFlags.None);
                BareWatermarksSent++;
                sentBare = true;
            }
        }

        if (sentBare)
        {
            _lastBareWatermarkAt = now;
        }
    }

    /// <summary>
    /// Sends what is buffered and hands back every batch not yet acknowledged, with the sequence numbers, for the
    /// activation the owning key group migrates to; this sender stops.
    /// </summary>
    public ExchangeSenderState Export()
    {
        _stopped = true; // queue the buffered records without sending: the new activation sends them
        for (var i = 0; i < _channels.Length; i++)
        {
            if (_buffers[i].Count > 0)
            {
                Send(i, ChannelFlags.None);
            }
        }

        return new ExchangeSenderState
        {
            Incarnation = _incarnation,
            NextSequence = Array.ConvertAll(_channels, c => c.NextSequence),
            Pending = Array.ConvertAll(_channels, c => new List<ChannelBatch>(c.Pending)),
            SentWatermark = Array.ConvertAll(_channels, c => c.SentWatermark),
            SentIdle = Array.ConvertAll(_channels, c => c.SentIdle),
            Watermark = _watermark,
            Idle = _idle,
            Ended = _ended,
        };
    }

    /// <summary>Continues a migrated sender: same incarnation and sequence numbers, and its unacknowledged batches are sent again.</summary>
    public void Import(ExchangeSenderState state)
    {
        if (state.Incarnation != 0)
        {
            _incarnation = state.Incarnation;
        }

        _watermark = state.Watermark;
        _idle = state.Idle;
        _ended = state.Ended;
        for (var i = 0; i < _channels.Length; i++)
        {
            var channel = _channels[i];
            channel.NextSequence = state.NextSequence[i];
            channel.SentWatermark = state.SentWatermark[i];
            channel.SentIdle = state.SentIdle[i];
            foreach (var batch in state.Pending[i])
            {
                channel.Pending.Enqueue(batch);
            }

            if (channel.Pending.Count > 0 && channel.Loop is null)
            {
                var loop = DrainAsync(channel);
                channel.Loop = loop.IsCompleted ? null : loop;
            }
        }
    }

    /// <summary>Stops resending: the owning grain is deactivating and its in-memory state goes with it.</summary>
    public void Stop() => _stopped = true;

    /// <summary>Completes when no channel has more than the allowed number of queued batches.</summary>
    public Task WaitForCapacityAsync()
    {
        foreach (var channel in _channels)
        {
            if (channel.Pending.Count > _options.MaxQueuedBatchesPerChannel)
            {
                return WaitSlowAsync();
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>True when every batch handed to this sender has been delivered.</summary>
    public bool IsDrained
    {
        get
        {
            foreach (var channel in _channels)
            {
                if (channel.Pending.Count > 0)
                {
                    return false;
                }
            }

            return true;
        }
    }

    private async Task WaitSlowAsync()
    {
        foreach (var channel in _channels)
        {
            while (channel.Pending.Count > _options.MaxQueuedBatchesPerChannel && channel.Loop is { } loop)
            {
                await loop;
            }
        }
    }

    private void Send(int index, ChannelFlags flags, long checkpointId = 0)
    {
        var channel = _channels[index];
        var buffer = _buffers[index];
        var records = buffer.Count > 0 ? buffer.Build() : null;
        var batch = new ChannelBatch(channel.SenderChannel, channel.NextSequence++, _watermark, flags, records, checkpointId, _attempt, _incarnation);
        channel.SentWatermark = _watermark;
        channel.SentIdle = (flags & ChannelFlags.Idle) != 0;
        if (_departure.IsUnderway)
        {
            return; // nothing can be placed any more (see LastSiloDeparture)
        }

        channel.Pending.Enqueue(batch);
        BatchesSent++;
        if (channel.Loop is null && !_stopped)
        {
            var loop = DrainAsync(channel);
            if (!loop.IsCompleted)
            {
                channel.Loop = loop;
            }
        }
    }

    private async Task DrainAsync(Channel channel)
    {
        // Started from the grain's turn, so every continuation runs on the grain's scheduler.
        while (channel.Pending.TryPeek(out var batch))
        {
            if (_departure.IsUnderway)
            {
                channel.Pending.Clear(); // nothing can be placed any more (see LastSiloDeparture)
                break;
            }

            var attempt = 0;
            while (true)
            {
                try
                {
                    await channel.Target.DeliverAsync(batch);
                    break;
                }
                catch (Exception) when (_stopped)
                {
                    channel.Pending.Clear();
                    channel.Loop = null;
                    return;
                }
                catch (Exception ex)
                {
                    attempt++;
                    Retries++;
                    if (attempt >= 30)
                    {
                        _onFatal($"Channel to {channel.TargetKey} failed {attempt} times; last error: {ex.Message}");
                        channel.Pending.Clear();
                        channel.Loop = null;
                        return;
                    }

                    if (attempt == 1)
                    {
                        _logger.LogInformation("Delivery of {Batch} to {Target} failed ({Error}); resending with the same sequence number", batch, channel.TargetKey, ex.Message);
                    }
                    else
                    {
                        _logger.LogWarning(ex, "Delivery of {Batch} to {Target} failed {Attempt} times; still resending", batch, channel.TargetKey, attempt);
                    }
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5_000, 20 * (1 << Math.Min(attempt, 8)))));
                }
            }

            channel.Pending.Dequeue();
        }

        channel.Loop = null;
    }

    private sealed class Channel(IKeyGroupGrain target, int senderChannel, string targetKey)
    {
        public IKeyGroupGrain Target { get; } = target;

        public int SenderChannel { get; } = senderChannel;

        public string TargetKey { get; } = targetKey;

        public long NextSequence { get; set; } = 1;

        public Queue<ChannelBatch> Pending { get; } = new();

        public Task? Loop { get; set; }

        public long SentWatermark { get; set; } = long.MinValue;

        public bool SentIdle { get; set; }
    }
}
