namespace Sluice.State;

/// <summary>
/// Time-to-live of a keyed state (Flink's <c>StateTtlConfig</c>, which has processing time only; here event time too).
/// A value written at time t expires at t + <see cref="TimeToLive"/> and is never returned after that. Expired values
/// are removed when they are accessed, by an incremental sweep of <see cref="IncrementalCleanupSize"/> entries of the
/// key group on every access of the state, and are never written to a checkpoint, so expiring keys do not grow memory.
/// </summary>
/// <remarks>
/// Event time: a write is stamped with the timestamp of the record being processed (the watermark when that is
/// higher, so a late record's state lives the full time-to-live), and a value has expired once the watermark reaches
/// its expiry. Processing time: both are the task's clock.
/// </remarks>
public sealed record StateTtlConfig
{
    public StateTtlConfig(TimeSpan timeToLive, TtlTimeCharacteristic timeCharacteristic)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        TimeToLive = timeToLive;
        TimeCharacteristic = timeCharacteristic;
    }

    public static StateTtlConfig ProcessingTime(TimeSpan timeToLive) => new(timeToLive, TtlTimeCharacteristic.ProcessingTime);

    public static StateTtlConfig EventTime(TimeSpan timeToLive) => new(timeToLive, TtlTimeCharacteristic.EventTime);

    public TimeSpan TimeToLive { get; }

    public TtlTimeCharacteristic TimeCharacteristic { get; }

    public TtlUpdateType UpdateType { get; init; } = TtlUpdateType.OnCreateAndWrite;

    /// <summary>Expired values are never returned; the only visibility there is (Flink's <c>NeverReturnExpired</c>).</summary>
    public TtlStateVisibility Visibility { get; init; } = TtlStateVisibility.NeverReturnExpired;

    /// <summary>Entries of the state's table checked for expiry on each access (Flink's <c>cleanupIncrementally</c>). At least 2 bounds memory.</summary>
    public int IncrementalCleanupSize
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    } = 5;
}

public enum TtlTimeCharacteristic
{
    ProcessingTime,
    EventTime,
}

/// <summary>What renews a value's time-to-live.</summary>
public enum TtlUpdateType
{
    /// <summary>Creating or writing a value restarts its time-to-live; reading does not.</summary>
    OnCreateAndWrite,

    /// <summary>Reading a value restarts its time-to-live too.</summary>
    OnReadAndWrite,
}

public enum TtlStateVisibility
{
    NeverReturnExpired,
}
