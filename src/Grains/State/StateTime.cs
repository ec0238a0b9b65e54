namespace Sluice.State;

/// <summary>
/// The times state expiry reads, kept by the operator that owns the backend: the task's processing-time clock, its
/// watermark, and the timestamp of the record or timer being processed.
/// </summary>
internal sealed class StateTime(Func<long> processingClock)
{
    public long Watermark { get; set; } = long.MinValue;

    /// <summary>The timestamp of the record (or the time of the timer) being processed.</summary>
    public long CurrentTimestamp { get; set; } = long.MinValue;

    public long ProcessingTime() => processingClock();
}
