using Sluice.State;

namespace Sluice.Windows;

/// <summary>
/// Fires every <see cref="Interval"/> of event time while a window is open, and at its end (Flink's
/// <c>ContinuousEventTimeTrigger</c>): the first firing is at the interval boundary after the window's first record
/// (<c>t - t % interval + interval</c>), then every interval after it, never later than the window's end. The next
/// firing time is per key and window in the state backend.
/// </summary>
public sealed class ContinuousEventTimeTrigger : Trigger
{
    private static readonly ReducingStateDescriptor<long> FireTimeState = new("_trigger-next-event-time", Math.Min);

    private ContinuousEventTimeTrigger(long interval) => Interval = interval;

    public long Interval { get; }

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="interval"/> is not positive.</exception>
    public static ContinuousEventTimeTrigger Of(TimeSpan interval) => new(ContinuousFiring.Validate(interval));

    public override TriggerResult OnElement(long timestamp, TimeWindow window, ITriggerContext context)
    {
        if (window.MaxTimestamp <= context.CurrentWatermark)
        {
            return TriggerResult.Fire;
        }

        context.RegisterEventTimeTimer(window.MaxTimestamp);
        var next = context.GetReducingState(FireTimeState);
        if (!next.TryGet(out _))
        {
            Register(timestamp - (timestamp % Interval), window, context, next);
        }

        return TriggerResult.Continue;
    }

    public override TriggerResult OnEventTime(long time, TimeWindow window, ITriggerContext context)
    {
        if (time == window.MaxTimestamp)
        {
            return TriggerResult.Fire;
        }

        var next = context.GetReducingState(FireTimeState);
        if (next.TryGet(out var fireTime) && fireTime == time)
        {
            next.Clear();
            Register(time, window, context, next);
            return TriggerResult.Fire;
        }

        return TriggerResult.Continue;
    }

    public override TriggerResult OnProcessingTime(long time, TimeWindow window, ITriggerContext context) => TriggerResult.Continue;

    public override void Clear(TimeWindow window, ITriggerContext context)
    {
        var next = context.GetReducingState(FireTimeState);
        if (next.TryGet(out var fireTime))
        {
            context.DeleteEventTimeTimer(fireTime);
            next.Clear();
        }
    }

    public override bool CanMerge => true;

    public override void OnMerge(TimeWindow window, ITriggerContext context)
    {
        context.MergeReducingState(FireTimeState);
        if (context.GetReducingState(FireTimeState).TryGet(out var fireTime))
        {
            context.RegisterEventTimeTimer(fireTime);
        }
    }

    public override string ToString() => $"ContinuousEventTimeTrigger({Interval} ms)";

    private void Register(long time, TimeWindow window, ITriggerContext context, IReducingState<long> next)
    {
        var fireTime = Math.Min(ContinuousFiring.SaturatingAdd(time, Interval), window.MaxTimestamp);
        next.Add(fireTime);
        context.RegisterEventTimeTimer(fireTime);
    }
}

/// <summary>
/// Fires every <see cref="Interval"/> of processing time while a window has records (Flink's
/// <c>ContinuousProcessingTimeTrigger</c>), aligned to interval boundaries of the processing-time clock.
/// </summary>
public sealed class ContinuousProcessingTimeTrigger : Trigger
{
    private static readonly ReducingStateDescriptor<long> FireTimeState = new("_trigger-next-processing-time", Math.Min);

    private ContinuousProcessingTimeTrigger(long interval) => Interval = interval;

    public long Interval { get; }

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="interval"/> is not positive.</exception>
    public static ContinuousProcessingTimeTrigger Of(TimeSpan interval) => new(ContinuousFiring.Validate(interval));

    public override TriggerResult OnElement(long timestamp, TimeWindow window, ITriggerContext context)
    {
        var now = context.CurrentProcessingTime;
        var next = context.GetReducingState(FireTimeState);
        if (!next.TryGet(out _))
        {
            Register(now - (now % Interval), window, context, next);
        }

        return TriggerResult.Continue;
    }

    public override TriggerResult OnEventTime(long time, TimeWindow window, ITriggerContext context) => TriggerResult.Continue;

    public override TriggerResult OnProcessingTime(long time, TimeWindow window, ITriggerContext context)
    {
        var next = context.GetReducingState(FireTimeState);
        if (next.TryGet(out var fireTime) && fireTime == time)
        {
            next.Clear();
            Register(time, window, context, next);
            return TriggerResult.Fire;
        }

        return TriggerResult.Continue;
    }

    public override void Clear(TimeWindow window, ITriggerContext context)
    {
        var next = context.GetReducingState(FireTimeState);
        if (next.TryGet(out var fireTime))
        {
            context.DeleteProcessingTimeTimer(fireTime);
            next.Clear();
        }
    }

    public override bool CanMerge => true;

    public override void OnMerge(TimeWindow window, ITriggerContext context)
    {
        context.MergeReducingState(FireTimeState);
        if (context.GetReducingState(FireTimeState).TryGet(out var fireTime))
        {
            context.RegisterProcessingTimeTimer(fireTime);
        }
    }

    public override string ToString() => $"ContinuousProcessingTimeTrigger({Interval} ms)";

    private void Register(long time, TimeWindow window, ITriggerContext context, IReducingState<long> next)
    {
        var fireTime = Math.Min(ContinuousFiring.SaturatingAdd(time, Interval), window.MaxTimestamp);
        next.Add(fireTime);
        context.RegisterProcessingTimeTimer(fireTime);
    }
}

internal static class ContinuousFiring
{
    public static long Validate(TimeSpan interval)
    {
        var ms = (long)interval.TotalMilliseconds;
        if (ms <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(interval), interval, "A continuous trigger needs a positive interval.");
        }

        return ms;
    }

    public static long SaturatingAdd(long time, long interval) => time > long.MaxValue - interval ? long.MaxValue : time + interval;
}
