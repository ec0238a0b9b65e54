namespace Sluice.ProcessFunctions;

/// <summary>
/// Timers of the current key (Flink's <c>TimerService</c>). A timer is (key, time) per clock: registering the same one
/// twice keeps one, deleting one that is not registered does nothing. Timers are checkpointed with the keyed state.
/// </summary>
public interface ITimerService
{
    long CurrentProcessingTime { get; }

    long CurrentWatermark { get; }

    /// <summary>Fires once the watermark reaches <paramref name="time"/> (ms since the epoch).</summary>
    void RegisterEventTimeTimer(long time);

    /// <summary>Fires once the task's clock reaches <paramref name="time"/> (ms since the epoch).</summary>
    void RegisterProcessingTimeTimer(long time);

    void DeleteEventTimeTimer(long time);

    void DeleteProcessingTimeTimer(long time);
}

/// <summary>The clock a timer belongs to.</summary>
public enum TimeDomain
{
    EventTime,
    ProcessingTime,
}
