using Sluice.Exchange;

namespace Sluice.Sources;

/// <summary>
/// What a source partition's owner passes to the next one when its queue moves in a planned way (the queue balancer
/// gives it to a silo that joined, or this silo shuts down gracefully): where reading stands and every message it
/// emitted that the stream cache may not have delivered yet. The next owner sends those messages again with their
/// channel sequence numbers — a key group that already had one drops it as a duplicate — then reads on from the
/// position with the emitters' incarnations and sequences continued, so each key group sees the stream it would have seen without
/// the move: no restart, nothing lost, nothing twice.
/// </summary>
[GenerateSerializer]
internal sealed class SourceHandover
{
    /// <summary>The pipeline attempt the partition was read for; a handover of another attempt is void.</summary>
    [Id(0)] public long Attempt { get; init; }

    /// <summary>Reader position after the last record read (every record before it was emitted).</summary>
    [Id(1)] public long Position { get; init; }

    [Id(2)] public long Watermark { get; init; }

    /// <summary>The last checkpoint the partition emitted a barrier for (its ack was sent then).</summary>
    [Id(3)] public long LastBarrier { get; init; }

    [Id(4)] public long RecordsRead { get; init; }

    /// <summary>Per emitter (next stage), per target: the last channel sequence number sent.</summary>
    [Id(5)] public long[][] Sequences { get; init; } = [];

    /// <summary>Emitted messages not known delivered, oldest first.</summary>
    [Id(6)] public List<HandedOverMessage> Undelivered { get; init; } = [];

    /// <summary>Per emitter: the incarnation its sequences count in (the next owner continues it).</summary>
    [Id(7)] public long[] Incarnations { get; init; } = [];

    /// <summary>The partition counted as idle: the next owner starts idle too, until it reads a record.</summary>
    [Id(8)] public bool Idle { get; init; }

    public override string ToString() => $"attempt {Attempt} at {Position}, {Undelivered.Count} undelivered messages";
}

/// <summary>One emitted message: the key-group stream it went to and the channel message itself.</summary>
[GenerateSerializer, Immutable]
internal sealed record HandedOverMessage([property: Id(0)] StreamId Stream, [property: Id(1)] ChannelBatch Batch);
