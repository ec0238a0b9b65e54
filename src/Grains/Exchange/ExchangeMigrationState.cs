namespace Sluice.Exchange;

/// <summary>
/// An input gate as it stood when its key group migrated: per channel the sender incarnation followed, the incarnations
/// it replaced and the last sequence seen, watermark, idleness,
/// end and whether it was blocked by an alignment, the messages held meanwhile, and the alignment in progress.
/// </summary>
[GenerateSerializer]
internal sealed class InputGateState
{
    [Id(0)] public long[] LastSequence { get; set; } = [];

    [Id(1)] public long[] Watermark { get; set; } = [];

    [Id(2)] public bool[] Idle { get; set; } = [];

    [Id(3)] public bool[] Ended { get; set; } = [];

    [Id(4)] public bool[] Blocked { get; set; } = [];

    [Id(5)] public List<ChannelBatch>[] Held { get; set; } = [];

    [Id(6)] public long GateWatermark { get; set; }

    [Id(7)] public bool GateEnded { get; set; }

    [Id(8)] public bool GateIdle { get; set; }

    [Id(9)] public long DuplicatesDropped { get; set; }

    [Id(10)] public long AligningCheckpoint { get; set; }

    [Id(11)] public long AlignmentStartedAt { get; set; }

    [Id(12)] public long LastAligned { get; set; }

    [Id(13)] public long[] Incarnation { get; set; } = [];

    [Id(14)] public long[][] RetiredIncarnations { get; set; } = [];

    [Id(15)] public long Gaps { get; set; }
}

/// <summary>
/// An exchange sender as it stood when its key group migrated: its incarnation, per channel the next sequence number and the
/// batches not yet acknowledged (resent by the new activation; the receiver drops any that did arrive).
/// </summary>
[GenerateSerializer]
internal sealed class ExchangeSenderState
{
    [Id(0)] public long[] NextSequence { get; set; } = [];

    [Id(1)] public List<ChannelBatch>[] Pending { get; set; } = [];

    [Id(2)] public long[] SentWatermark { get; set; } = [];

    [Id(3)] public bool[] SentIdle { get; set; } = [];

    [Id(4)] public long Watermark { get; set; }

    [Id(5)] public bool Idle { get; set; }

    [Id(6)] public bool Ended { get; set; }

    /// <summary>The sender's incarnation: the new activation continues it, so its numbers follow on without a break.</summary>
    [Id(7)] public long Incarnation { get; set; }
}
