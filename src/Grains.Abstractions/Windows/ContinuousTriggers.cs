using Sluice.ProcessFunctions;
using Sluice.State;

namespace Sluice.Windows;

/// <summary>
/// Fires every <see cref="Interval"/> of event time while a window is open, and at its end (Flink's
/// <c>ContinuousEventTimeTrigger</c>): the first firing is at the interval boundary after the window's first record
/// (<c>t - t % interval + interval</c>), then every interval after it, never later than the window's end. The next
/// firing time is per key and window in the state backend.
/// </summary>
public sealed class ContinuousEventTimeTrigger : ContinuousTrigger
{
    private static readonly ReducingStateDescriptor<long> FireTimeState = new("_trigger-next-event-time", Math.Min);

    private ContinuousEventTimeTrigger(long interval)
        : base(interval, TimeDomain.EventTime, FireTimeState)
    {
    }

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="interval"/> is not positive.</exception>
    public static ContinuousEventTimeTrigger Of(TimeSpan interval) => new(Validate(interval));

    public override string ToString() => $"ContinuousEventTimeTrigger({Interval} ms)";
}

/// <summary>
/// Fires every <see cref="Interval"/> of processing time while a window has records (Flink's
/// <c>ContinuousProcessingTimeTrigger</c>), aligned to interval boundaries of the processing-time clock.
/// </summary>
public sealed class ContinuousProcessingTimeTrigger : ContinuousTrigger
{
    private static readonly ReducingStateDescriptor<long> FireTimeState = new("_trigger-next-processing-time", Math.Min);

    private ContinuousProcessingTimeTrigger(long interval)
        : base(interval, TimeDomain.ProcessingTime, FireTimeState)
    {
    }

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="interval"/> is not positive.</exception>
    public static ContinuousProcessingTimeTrigger Of(TimeSpan interval) => new(Validate(interval));

    public override string ToString() => $"ContinuousProcessingTimeTrigger({Interval} ms)";
}

/// <summary>
/// What <see cref="ContinuousEventTimeTrigger"/> and <see cref="ContinuousProcessingTimeTrigger"/> share: firing every
/// <see cref="Interval"/> of one clock, aligned to interval boundaries, with the next firing time per key and window in
/// the state backend. Event time also fires at the window's end, and right away for a record of a window the watermark
/// has passed; processing time only fires on its interval. Only those two derive from it.
/// </summary>
public abstract class ContinuousTrigger : Trigger
{
    private readonly TimeDomain _domain;
    private readonly ReducingStateDescriptor<long> _fireTime;

    private protected ContinuousTrigger(long interval, TimeDomain domain, ReducingStateDescriptor<long> fireTime)
    {
        Interval = interval;
        _domain = domain;
        _fireTime = fireTime;
    }

    /// <summary>In ms.</summary>
    public long Interval { get; }

    public override bool CanMerge => true;

    public override TriggerResult OnElement(long timestamp, TimeWindow window, ITriggerContext context)
    {
        long time;
        if (_domain == TimeDomain.EventTime)
        {
            if (window.MaxTimestamp <= context.CurrentWatermark)
            {
                return TriggerResult.Fire;
            }

            context.RegisterEventTimeTimer(window.MaxTimestamp);
            time = timestamp;
        }
        else
        {
            time = context.CurrentProcessingTime;
        }

        var next = context.GetReducingState(_fireTime);
        if (!next.TryGet(out _))
        {
            Register(time - (time % Interval), window, context, next);
        }

        return TriggerResult.Continue;
    }

    public override TriggerResult OnEventTime(long time, TimeWindow window, ITriggerContext context)
    {
        if (_domain != TimeDomain.EventTime)
        {
            return TriggerResult.Continue;
        }

        return time == window.MaxTimestamp ? TriggerResult.Fire : OnTimer(time, window, context);
    }

    public override TriggerResult OnProcessingTime(long time, TimeWindow window, ITriggerContext context) =>
        _domain == TimeDomain.ProcessingTime ? OnTimer(time, window, context) : TriggerResult.Continue;

    public override void Clear(TimeWindow window, ITriggerContext context)
    {
        var next = context.GetReducingState(_fireTime);
        if (next.TryGet(out var fireTime))
        {
            DeleteTimer(fireTime, context);
            next.Clear();
        }
    }

    public override void OnMerge(TimeWindow window, ITriggerContext context)
    {
        context.MergeReducingState(_fireTime);
        if (context.GetReducingState(_fireTime).TryGet(out var fireTime))
        {
            RegisterTimer(fireTime, context);
        }
    }

    private protected static long Validate(TimeSpan interval)
    {
        var ms = (long)interval.TotalMilliseconds;
        if (ms <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(interval), interval, "A continuous trigger needs a positive interval.");
        }

        return ms;
    }

    /// <summary>A timer of the trigger's clock: fires (and schedules the next firing) when it is the pending firing time.</summary>
    private TriggerResult OnTimer(long time, TimeWindow window, ITriggerContext context)
    {
        var next = context.GetReducingState(_fireTime);
        if (next.TryGet(out var fireTime) && fireTime == time)
        {
            next.Clear();
            Register(time, window, context, next);
            return TriggerResult.Fire;
        }

        return TriggerResult.Continue;
    }

    private void Register(long time, TimeWindow window, ITriggerContext context, IReducingState<long> next)
    {
        var fireTime = Math.Min(time > long.MaxValue - Interval ? long.MaxValue : time + Interval, window.MaxTimestamp);
        next.Add(fireTime);
        RegisterTimer(fireTime, context);
    }

    private void RegisterTimer(long time, ITriggerContext context)
    {
        if (_domain == TimeDomain.EventTime)
        {
            context.RegisterEventTimeTimer(time);
        }
        else
        {
            context.RegisterProcessingTimeTimer(time);
        }
    }

    private void DeleteTimer(long time, ITriggerContext context)
    {
        if (_domain == TimeDomain.EventTime)
        {
            context.DeleteEventTimeTimer(time);
        }
        else
        {
            context.DeleteProcessingTimeTimer(time);
        }
    }
}
