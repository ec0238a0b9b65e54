namespace Sluice.Windows;

/// <summary>
/// One window per key holding all its records, <see cref="TimeWindow.Global"/> (Flink's <c>GlobalWindows</c>). It has no
/// end, so it is never late and never cleaned up by time: a trigger decides when it fires (count, delta, continuous or a
/// custom one), and a purging trigger or an evictor bounds what it keeps. Results are stamped <c>long.MaxValue</c>, the
/// global window's max timestamp, as in Flink.
/// </summary>
public sealed class GlobalWindows : WindowAssigner
{
    private GlobalWindows(Trigger defaultTrigger) => DefaultTrigger = defaultTrigger;

    public override int MaxWindowsPerRecord => 1;

    /// <summary>False, as in Flink: the global window is not measured in event time, so no record is ever late for it.</summary>
    public override bool IsEventTime => false;

    public override Trigger DefaultTrigger { get; }

    /// <summary>Global windows whose default trigger never fires: name one with <c>.Trigger(...)</c>.</summary>
    public static GlobalWindows Create() => new(NeverTrigger.Instance);

    /// <summary>Global windows that fire once, when the watermark reaches the end of the input (<c>long.MaxValue</c>).</summary>
    public static GlobalWindows CreateWithEndOfStreamTrigger() => new(EndOfStreamTrigger.Instance);

    public override int AssignWindows(long timestamp, long currentProcessingTime, Span<TimeWindow> destination)
    {
        destination[0] = TimeWindow.Global;
        return 1;
    }

    public override string ToString() => "GlobalWindows";
}

/// <summary>A trigger that never fires (Flink's <c>GlobalWindows.NeverTrigger</c>), the global windows' default.</summary>
public sealed class NeverTrigger : Trigger
{
    public static NeverTrigger Instance { get; } = new();

    public override TriggerResult OnElement(long timestamp, TimeWindow window, ITriggerContext context) => TriggerResult.Continue;

    public override TriggerResult OnEventTime(long time, TimeWindow window, ITriggerContext context) => TriggerResult.Continue;

    public override TriggerResult OnProcessingTime(long time, TimeWindow window, ITriggerContext context) => TriggerResult.Continue;

    public override void Clear(TimeWindow window, ITriggerContext context)
    {
    }

    public override bool CanMerge => true;

    public override void OnMerge(TimeWindow window, ITriggerContext context)
    {
    }
}

/// <summary>Fires when the watermark reaches <c>long.MaxValue</c>, the end of a bounded input (Flink's <c>GlobalWindows.EndOfStreamTrigger</c>).</summary>
public sealed class EndOfStreamTrigger : Trigger
{
    public static EndOfStreamTrigger Instance { get; } = new();

    public override TriggerResult OnElement(long timestamp, TimeWindow window, ITriggerContext context)
    {
        context.RegisterEventTimeTimer(long.MaxValue);
        return TriggerResult.Continue;
    }

    public override TriggerResult OnEventTime(long time, TimeWindow window, ITriggerContext context) =>
        time == long.MaxValue ? TriggerResult.Fire : TriggerResult.Continue;

    public override TriggerResult OnProcessingTime(long time, TimeWindow window, ITriggerContext context) => TriggerResult.Continue;

    public override void Clear(TimeWindow window, ITriggerContext context) => context.DeleteEventTimeTimer(long.MaxValue);
}
