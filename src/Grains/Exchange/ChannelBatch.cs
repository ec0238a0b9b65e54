namespace Sluice.Exchange;

/// <summary>Control flags carried in band with a channel's data.</summary>
[Flags]
internal enum ChannelFlags : byte
{
    None = 0,

    /// <summary>The sender is idle: ignore its watermark until it sends again.</summary>
    Idle = 1,

    /// <summary>The sender will send nothing more; its watermark is final.</summary>
    EndOfInput = 2,

    /// <summary>Checkpoint barrier <see cref="ChannelBatch.CheckpointId"/>: everything before it belongs to that checkpoint.</summary>
    Barrier = 4,
}

/// <summary>
/// One message on an ordered channel (sender task -> receiver task): optional records, then the sender's
/// watermark as of after those records. A sender numbers its messages 1, 2, 3... within its
/// <see cref="Incarnation"/> (a random id drawn when the sender is created and carried when it migrates), so the
/// receiver can tell a redelivered message, one of a sender that was replaced, and a message that never arrived
/// (see <see cref="InputGate"/>), whatever the silos' clocks say.
/// </summary>
[GenerateSerializer, Immutable]
internal sealed class ChannelBatch(int channel, long sequence, long watermark, ChannelFlags flags, RecordBatch? records, long checkpointId = 0, long attempt = 0, long incarnation = 0)
{
    /// <summary>The sender's index among the receiver's inputs.</summary>
    [Id(0)]
    public int Channel { get; } = channel;

    [Id(1)]
    public long Sequence { get; } = sequence;

    [Id(2)]
    public long Watermark { get; } = watermark;

    [Id(3)]
    public ChannelFlags Flags { get; } = flags;

    [Id(4)]
    public RecordBatch? Records { get; } = records;

    /// <summary>With <see cref="ChannelFlags.Barrier"/>: the checkpoint the barrier belongs to.</summary>
    [Id(5)]
    public long CheckpointId { get; } = checkpointId;

    /// <summary>
    /// The pipeline attempt the sender belongs to. After a global restart a task drops messages of older attempts
    /// (sent before the restart, still in flight or in a stream cache) and resets itself on a newer one.
    /// </summary>
    [Id(6)]
    public long Attempt { get; } = attempt;

    /// <summary>The sending incarnation: <see cref="Sequence"/> counts from 1 within it.</summary>
    [Id(7)]
    public long Incarnation { get; } = incarnation;

    public int RecordCount => Records?.Count ?? 0;

    public override string ToString() => $"channel {Channel} #{Sequence} of {Incarnation:x16} attempt {Attempt} wm={Watermark} {Flags} records={RecordCount}";
}
