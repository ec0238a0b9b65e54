namespace Sluice.Kafka;

public sealed partial class KafkaSinkOptions
{
    /// <summary>
    /// Exactly once: an epoch whose compressed write-ahead is larger than this many bytes is written to the checkpoint
    /// store (<c>{pipeline}/kafka-spill/...</c>) and the checkpoint holds only a reference to it; null (default) keeps
    /// every epoch in the checkpoint. Needs a checkpoint store on the silo. The blob is deleted once the epoch's
    /// transaction has committed.
    /// </summary>
    public int? SpillThreshold { get; set; }

    /// <summary>Problems with the spill settings, each naming the setting.</summary>
    internal IReadOnlyList<string> ValidateSpill() =>
        SpillThreshold is < 0
            ? [$"{nameof(SpillThreshold)} ({SpillThreshold}) must not be negative; null keeps every epoch in the checkpoint."]
            : [];
}
