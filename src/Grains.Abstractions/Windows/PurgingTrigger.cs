namespace Sluice.Windows;

/// <summary>
/// Wraps a trigger so every firing also purges the window's contents (Flink's <c>PurgingTrigger</c>): each firing then
/// emits only what arrived since the previous one. Timers, clearing and merging are the wrapped trigger's.
/// </summary>
public sealed class PurgingTrigger : Trigger
{
    private PurgingTrigger(Trigger nested) => Nested = nested;

    public Trigger Nested { get; }

    public static PurgingTrigger Of(Trigger nested)
    {
        ArgumentNullException.ThrowIfNull(nested);
        return new PurgingTrigger(nested);
    }

    public override TriggerResult OnElement(long timestamp, TimeWindow window, ITriggerContext context) =>
        Purging(Nested.OnElement(timestamp, window, context));

    public override TriggerResult OnElement<T>(T element, long timestamp, TimeWindow window, ITriggerContext context) =>
        Purging(Nested.OnElement(element, timestamp, window, context));

    public override TriggerResult OnEventTime(long time, TimeWindow window, ITriggerContext context) =>
        Purging(Nested.OnEventTime(time, window, context));

    public override TriggerResult OnProcessingTime(long time, TimeWindow window, ITriggerContext context) =>
        Purging(Nested.OnProcessingTime(time, window, context));

    public override void Clear(TimeWindow window, ITriggerContext context) => Nested.Clear(window, context);

    public override bool CanMerge => Nested.CanMerge;

    public override void OnMerge(TimeWindow window, ITriggerContext context) => Nested.OnMerge(window, context);

    public override string ToString() => $"Purging({Nested.GetType().Name})";

    private static TriggerResult Purging(TriggerResult result) =>
        (result & TriggerResult.Fire) != 0 ? TriggerResult.FireAndPurge : result;
}
