using Sluice.State;

namespace Sluice.Windows;

/// <summary>
/// Fires when the delta between the record that fired last (or the window's first record) and a new record exceeds
/// <see cref="Threshold"/> (Flink's <c>DeltaTrigger</c>). The reference record is per key and window in the state
/// backend, so it needs a serializable <typeparamref name="T"/>. It cannot follow merging windows.
/// </summary>
public sealed class DeltaTrigger<T> : Trigger
{
    private readonly Func<T, T, double> _delta;
    private readonly ValueStateDescriptor<T> _lastState = new("_trigger-delta-last");

    internal DeltaTrigger(double threshold, Func<T, T, double> delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        Threshold = threshold;
        _delta = delta;
    }

    public double Threshold { get; }

    public override TriggerResult OnElement<TElement>(TElement element, long timestamp, TimeWindow window, ITriggerContext context)
    {
        if (element is not T value)
        {
            throw new InvalidOperationException($"DeltaTrigger<{typeof(T).Name}> was given a record of type {typeof(TElement).Name}.");
        }

        var last = context.GetState(_lastState);
        if (!last.TryGetValue(out var reference))
        {
            last.Update(value);
            return TriggerResult.Continue;
        }

        if (_delta(reference, value) > Threshold)
        {
            last.Update(value);
            return TriggerResult.Fire;
        }

        return TriggerResult.Continue;
    }

    /// <summary>A delta needs the record: the window operator always calls the record overload.</summary>
    public override TriggerResult OnElement(long timestamp, TimeWindow window, ITriggerContext context) =>
        throw new InvalidOperationException("DeltaTrigger needs the record; call OnElement with the element.");

    public override TriggerResult OnEventTime(long time, TimeWindow window, ITriggerContext context) => TriggerResult.Continue;

    public override TriggerResult OnProcessingTime(long time, TimeWindow window, ITriggerContext context) => TriggerResult.Continue;

    public override void Clear(TimeWindow window, ITriggerContext context) => context.GetState(_lastState).Clear();

    public override string ToString() => $"DeltaTrigger({Threshold})";
}

/// <summary>Creates <see cref="DeltaTrigger{T}"/>s.</summary>
public static class DeltaTrigger
{
    /// <summary>Fires when <paramref name="delta"/>(last fired record, new record) is above <paramref name="threshold"/>.</summary>
    public static DeltaTrigger<T> Of<T>(double threshold, Func<T, T, double> delta) => new(threshold, delta);
}
