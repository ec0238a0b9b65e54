namespace Sluice.Exchange;

/// <summary>
/// The receiving end of a task's input channels: tracks each channel's sender incarnation and last sequence number
/// (<see cref="Classify"/>: accepted, duplicate, stale or gap) and keeps each channel's watermark, idleness and end. The task's watermark is the minimum over channels that
/// are neither idle nor ended; it only moves forward.
/// </summary>
internal sealed class InputGate
{
    private readonly Dictionary<int, int> _slotOfChannel;
    private readonly ChannelState[] _slots;
    private readonly Queue<ChannelBatch>?[] _held;

    public InputGate(IReadOnlyList<int> channels)
    {
        _slotOfChannel = new Dictionary<int, int>(channels.Count);
        _slots = new ChannelState[channels.Count];
        _held = new Queue<ChannelBatch>?[channels.Count];
        for (var i = 0; i < channels.Count; i++)
        {
            _slotOfChannel.Add(channels[i], i);
            _slots[i] = new ChannelState { Watermark = long.MinValue };
        }
    }

    public long Watermark { get; private set; } = long.MinValue;

    public bool Ended { get; private set; }

    /// <summary>True when every input that has not ended is idle.</summary>
    public bool Idle { get; private set; }

    /// <summary>Messages dropped as duplicates or as stale (from a replaced sender).</summary>
    public long DuplicatesDropped { get; private set; }

    /// <summary>Messages that followed missing ones (<see cref="ChannelVerdict.Gap"/>).</summary>
    public long Gaps { get; private set; }

    /// <summary>The checkpoint whose barriers are being aligned (0: none).</summary>
    public long AligningCheckpoint { get; private set; }

    /// <summary>When the first barrier of the aligning checkpoint arrived (ms), for the alignment time.</summary>
    public long AlignmentStartedAt { get; private set; }

    /// <summary>True when the channel delivered the current barrier and its later messages must wait.</summary>
    public bool IsHeld(int channel) => AligningCheckpoint != 0 && _slots[_slotOfChannel[channel]].Blocked;

    /// <summary>Keeps a message of a blocked channel until alignment completes.</summary>
    public void Hold(ChannelBatch batch) => (_held[_slotOfChannel[batch.Channel]] ??= new Queue<ChannelBatch>()).Enqueue(batch);

    /// <summary>
    /// Records Barrier(n) on its channel (after the batch itself was processed) and blocks the channel.
    /// Returns true when every channel that has not ended has delivered the barrier: the task is aligned.
    /// </summary>
    public bool OnBarrier(ChannelBatch batch, long now)
    {
        if (AligningCheckpoint == 0)
        {
            AligningCheckpoint = batch.CheckpointId;
            AlignmentStartedAt = now;
        }

        _slots[_slotOfChannel[batch.Channel]].Blocked = true;
        return IsAligned;
    }

    /// <summary>True while aligning when every channel that has not ended has delivered the barrier (a channel may end mid-alignment).</summary>
    public bool IsAligned
    {
        get
        {
            if (AligningCheckpoint == 0)
            {
                return false;
            }

            foreach (ref readonly var slot in _slots.AsSpan())
            {
                if (!slot.Blocked && !slot.Ended)
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>The last checkpoint this task aligned.</summary>
    public long LastAligned { get; private set; }

    /// <summary>
    /// Where Barrier(<paramref name="checkpointId"/>) stands against the alignment in progress: a barrier of a checkpoint
    /// already aligned or given up is stale (a channel that ended delivers one after the others aligned; a source that
    /// skipped a checkpoint); a newer one means the checkpoint being aligned was abandoned (Flink aborts it too).
    /// </summary>
    public BarrierOrder Order(long checkpointId) =>
        (AligningCheckpoint == 0 ? checkpointId <= LastAligned : checkpointId < AligningCheckpoint) ? BarrierOrder.Stale
        : AligningCheckpoint != 0 && checkpointId > AligningCheckpoint ? BarrierOrder.Newer
        : BarrierOrder.Current;

    /// <summary>Ends the alignment and hands back what blocked channels delivered meanwhile, each channel in order.</summary>
    public List<ChannelBatch> Release()
    {
        LastAligned = Math.Max(LastAligned, AligningCheckpoint);
        return Unblock();
    }

    /// <summary>Gives the alignment up without a snapshot (a newer checkpoint's barrier arrived) and hands back the held messages.</summary>
    public List<ChannelBatch> Abandon() => Unblock();

    private List<ChannelBatch> Unblock()
    {
        AligningCheckpoint = 0;
        var released = new List<ChannelBatch>();
        for (var i = 0; i < _slots.Length; i++)
        {
            _slots[i].Blocked = false;
            if (_held[i] is { } queue)
            {
                released.AddRange(queue);
                queue.Clear();
            }
        }

        return released;
    }

    public int ChannelCount => _slots.Length;

    /// <summary>
    /// Places a message in its channel's sequence. Accepted (next in order) and gap (messages are missing before it) move
    /// the channel on to the message; a duplicate or a stale one leaves it where it was. A channel that has seen nothing
    /// expects the first message of an incarnation, as does a new incarnation replacing the one the channel had.
    /// </summary>
    public ChannelVerdict Classify(ChannelBatch batch)
    {
        if (!_slotOfChannel.TryGetValue(batch.Channel, out var slot))
        {
            throw new InvalidOperationException($"Received {batch} on a channel this task does not read.");
        }

        ref var state = ref _slots[slot];
        if (batch.Incarnation == state.Incarnation)
        {
            if (batch.Sequence <= state.LastSequence)
            {
                DuplicatesDropped++;
                return ChannelVerdict.Duplicate;
            }

            var inOrder = batch.Sequence == state.LastSequence + 1;
            state.LastSequence = batch.Sequence;
            return inOrder ? ChannelVerdict.Accepted : CountGap();
        }

        if (state.WasRetired(batch.Incarnation))
        {
            DuplicatesDropped++;
            return ChannelVerdict.Stale;
        }

        state.Retire();
        state.Incarnation = batch.Incarnation;
        state.LastSequence = batch.Sequence;
        return batch.Sequence == 1 ? ChannelVerdict.Accepted : CountGap();
    }

    private ChannelVerdict CountGap()
    {
        Gaps++;
        return ChannelVerdict.Gap;
    }

    /// <summary>Applies the message's watermark and flags (after its records were processed).</summary>
    /// <returns>True when the task's watermark advanced, or it ended.</returns>
    public bool Update(ChannelBatch batch)
    {
        ref var state = ref _slots[_slotOfChannel[batch.Channel]];
        if (batch.Watermark > state.Watermark)
        {
            state.Watermark = batch.Watermark;
        }

        state.Idle = (batch.Flags & ChannelFlags.Idle) != 0 && batch.RecordCount == 0;
        state.Ended |= (batch.Flags & ChannelFlags.EndOfInput) != 0;
        return Recompute();
    }

    /// <summary>
    /// Continues from the watermark a restored task had reached: the gate's watermark starts there, and only a higher
    /// minimum over the inputs moves it on (inputs restart lower after a restore; time must not go back).
    /// </summary>
    public void RestoreWatermark(long watermark)
    {
        if (watermark > Watermark)
        {
            Watermark = watermark;
        }
    }

    public InputGateState Export() => new()
    {
        LastSequence = Array.ConvertAll(_slots, s => s.LastSequence),
        Incarnation = Array.ConvertAll(_slots, s => s.Incarnation),
        RetiredIncarnations = Array.ConvertAll(_slots, s => s.Retired is null ? [] : (long[])s.Retired.Clone()),
        Gaps = Gaps,
        Watermark = Array.ConvertAll(_slots, s => s.Watermark),
        Idle = Array.ConvertAll(_slots, s => s.Idle),
        Ended = Array.ConvertAll(_slots, s => s.Ended),
        Blocked = Array.ConvertAll(_slots, s => s.Blocked),
        Held = Array.ConvertAll(_held, q => q is null ? [] : new List<ChannelBatch>(q)),
        GateWatermark = Watermark,
        GateEnded = Ended,
        GateIdle = Idle,
        DuplicatesDropped = DuplicatesDropped,
        AligningCheckpoint = AligningCheckpoint,
        AlignmentStartedAt = AlignmentStartedAt,
        LastAligned = LastAligned,
    };

    /// <summary>Continues where a migrated activation's gate stood (same channels: same pipeline plan).</summary>
    public void Import(InputGateState state)
    {
        if (state.LastSequence.Length != _slots.Length)
        {
            throw new InvalidOperationException($"A migrated gate had {state.LastSequence.Length} channels; this task reads {_slots.Length}.");
        }

        for (var i = 0; i < _slots.Length; i++)
        {
            _slots[i] = new ChannelState
            {
                LastSequence = state.LastSequence[i],
                // None recorded (a gate exported before incarnations existed): the next message is a gap, and with checkpoints a restart.
                Incarnation = state.Incarnation.Length > i ? state.Incarnation[i] : 0,
                Retired = state.RetiredIncarnations.Length > i && state.RetiredIncarnations[i].Length > 0 ? (long[])state.RetiredIncarnations[i].Clone() : null,
                Watermark = state.Watermark[i],
                Idle = state.Idle[i],
                Ended = state.Ended[i],
                Blocked = state.Blocked[i],
            };
            _held[i] = state.Held[i].Count == 0 ? null : new Queue<ChannelBatch>(state.Held[i]);
        }

        Watermark = state.GateWatermark;
        Ended = state.GateEnded;
        Idle = state.GateIdle;
        DuplicatesDropped = state.DuplicatesDropped;
        Gaps = state.Gaps;
        AligningCheckpoint = state.AligningCheckpoint;
        AlignmentStartedAt = state.AlignmentStartedAt;
        LastAligned = state.LastAligned;
    }

    private bool Recompute()
    {
        var min = long.MaxValue;
        var active = 0;
        var ended = 0;
        foreach (ref readonly var s in _slots.AsSpan())
        {
            if (s.Ended)
            {
                ended++;
                continue;
            }

            if (s.Idle)
            {
                continue;
            }

            active++;
            if (s.Watermark < min)
            {
                min = s.Watermark;
            }
        }

        var wasEnded = Ended;
        Ended = ended == _slots.Length;
        Idle = !Ended && active == 0;
        if (Ended)
        {
            min = long.MaxValue;
        }
        else if (active == 0)
        {
            // Everything idle: hold the watermark where it is (Flink does not advance on all-idle inputs).
            return false;
        }

        if (min > Watermark)
        {
            Watermark = min;
            return true;
        }

        return Ended && !wasEnded;
    }

    private struct ChannelState
    {
        // How many replaced incarnations a channel remembers (a sender is replaced rarely: a restart, a failed move).
        private const int RetiredKept = 4;

        /// <summary>The sender incarnation the channel follows (0: none seen yet).</summary>
        public long Incarnation;

        /// <summary>Incarnations replaced on this channel, newest last (null: none); their messages are stale.</summary>
        public long[]? Retired;

        public long LastSequence;
        public long Watermark;
        public bool Idle;
        public bool Ended;
        public bool Blocked;

        public readonly bool WasRetired(long incarnation) => Retired is { } retired && Array.IndexOf(retired, incarnation) >= 0;

        /// <summary>Remembers the current incarnation as replaced (a new one took over the channel).</summary>
        public void Retire()
        {
            if (Incarnation == 0)
            {
                return;
            }

            var kept = Retired is null ? 0 : Math.Min(Retired.Length, RetiredKept - 1);
            var retired = new long[kept + 1];
            if (kept > 0)
            {
                Array.Copy(Retired!, Retired!.Length - kept, retired, 0, kept);
            }

            retired[kept] = Incarnation;
            Retired = retired;
        }
    }
}

internal enum BarrierOrder
{
    Stale,
    Current,
    Newer,
}
