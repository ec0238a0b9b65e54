using Sluice.State;

namespace Sluice.Windows;

/// <summary>What a trigger decides for a window (Flink's <c>TriggerResult</c>).</summary>
[Flags]
public enum TriggerResult
{
    Continue = 0,
    Fire = 1,
    Purge = 2,
    FireAndPurge = Fire | Purge,
}

/// <summary>Timers and clocks a trigger may use; timers are scoped to the current key and window.</summary>
public interface ITriggerContext
{
    long CurrentWatermark { get; }

    long CurrentProcessingTime { get; }

    void RegisterEventTimeTimer(long time);

    void RegisterProcessingTimeTimer(long time);

    void DeleteEventTimeTimer(long time);

    void DeleteProcessingTimeTimer(long time);

    /// <summary>
    /// A value kept for the current key and window (Flink's <c>getPartitionedState</c>), in the state backend, so it is
    /// checkpointed with the window; a trigger clears it in <see cref="Trigger.Clear"/>.
    /// </summary>
    IValueState<T> GetState<T>(ValueStateDescriptor<T> descriptor);

    /// <summary>A reducing value kept for the current key and window (a count, the next firing time).</summary>
    IReducingState<T> GetReducingState<T>(ReducingStateDescriptor<T> descriptor);

    /// <summary>
    /// Only in <see cref="Trigger.OnMerge"/>: folds the state of the windows that merged into the merged window's
    /// (Flink's <c>OnMergeContext.mergePartitionedState</c>).
    /// </summary>
    void MergeReducingState<T>(ReducingStateDescriptor<T> descriptor);
}

/// <summary>
/// Decides when a window's contents are emitted (Flink's <c>Trigger</c>). Triggers are shared across
/// keys and windows, so they keep their state in timers and in the context's per-window state, never in fields.
/// Subclass it for a custom trigger.
/// </summary>
public abstract class Trigger
{
    public abstract TriggerResult OnElement(long timestamp, TimeWindow window, ITriggerContext context);

    /// <summary>
    /// Called for every record added to <paramref name="window"/>; the operator always calls this overload. Override it
    /// when the decision needs the record itself (as <see cref="DeltaTrigger{T}"/> does); by default it asks the
    /// timestamp-only overload.
    /// </summary>
    public virtual TriggerResult OnElement<T>(T element, long timestamp, TimeWindow window, ITriggerContext context) =>
        OnElement(timestamp, window, context);

    public abstract TriggerResult OnEventTime(long time, TimeWindow window, ITriggerContext context);

    public abstract TriggerResult OnProcessingTime(long time, TimeWindow window, ITriggerContext context);

    /// <summary>Removes whatever the trigger registered for the window when the window is purged.</summary>
    public abstract void Clear(TimeWindow window, ITriggerContext context);

    /// <summary>True when the trigger can follow windows that merge (session windows need it).</summary>
    public virtual bool CanMerge => false;

    /// <summary>
    /// Called when windows merged into <paramref name="window"/> (the context's scope): re-register what the merged
    /// result needs. The merged windows are <see cref="Clear"/>ed right after.
    /// </summary>
    public virtual void OnMerge(TimeWindow window, ITriggerContext context) =>
        throw new NotSupportedException($"{GetType().Name} does not support merging windows.");
}

/// <summary>Fires once the watermark passes the end of the window (Flink's <c>EventTimeTrigger</c>).</summary>
public sealed class EventTimeTrigger : Trigger
{
    public static EventTimeTrigger Instance { get; } = new();

    public override TriggerResult OnElement(long timestamp, TimeWindow window, ITriggerContext context)
    {
        if (window.MaxTimestamp <= context.CurrentWatermark)
        {
            // Late but within allowed lateness: fire right away with the updated contents.
            return TriggerResult.Fire;
        }

        context.RegisterEventTimeTimer(window.MaxTimestamp);
        return TriggerResult.Continue;
    }

    public override TriggerResult OnEventTime(long time, TimeWindow window, ITriggerContext context) =>
        time == window.MaxTimestamp ? TriggerResult.Fire : TriggerResult.Continue;

    public override TriggerResult OnProcessingTime(long time, TimeWindow window, ITriggerContext context) => TriggerResult.Continue;

    public override void Clear(TimeWindow window, ITriggerContext context) => context.DeleteEventTimeTimer(window.MaxTimestamp);

    public override bool CanMerge => true;

    /// <summary>Flink: only a merged window the watermark has not passed needs its timer (a late one fires on its next record).</summary>
    public override void OnMerge(TimeWindow window, ITriggerContext context)
    {
        if (window.MaxTimestamp > context.CurrentWatermark)
        {
            context.RegisterEventTimeTimer(window.MaxTimestamp);
        }
    }
}

/// <summary>Fires when the processing-time clock passes the end of the window.</summary>
public sealed class ProcessingTimeTrigger : Trigger
{
    public static ProcessingTimeTrigger Instance { get; } = new();

    public override TriggerResult OnElement(long timestamp, TimeWindow window, ITriggerContext context)
    {
        context.RegisterProcessingTimeTimer(window.MaxTimestamp);
        return TriggerResult.Continue;
    }

    public override TriggerResult OnEventTime(long time, TimeWindow window, ITriggerContext context) => TriggerResult.Continue;

    public override TriggerResult OnProcessingTime(long time, TimeWindow window, ITriggerContext context) =>
        time == window.MaxTimestamp ? TriggerResult.Fire : TriggerResult.Continue;

    public override void Clear(TimeWindow window, ITriggerContext context) => context.DeleteProcessingTimeTimer(window.MaxTimestamp);

    public override bool CanMerge => true;

    public override void OnMerge(TimeWindow window, ITriggerContext context) => context.RegisterProcessingTimeTimer(window.MaxTimestamp);
}
