using Sluice.State;

namespace Sluice.Windows;

/// <summary>
/// Fires once a window holds <see cref="MaxCount"/> records since its last firing (Flink's <c>CountTrigger</c>). The
/// count is per key and window in the state backend; merging windows add their counts. Wrap it in
/// <see cref="PurgingTrigger"/> for tumbling count windows.
/// </summary>
public sealed class CountTrigger : Trigger
{
    private static readonly ReducingStateDescriptor<long> CountState = new("_trigger-count", static (a, b) => a + b);

    private CountTrigger(long maxCount) => MaxCount = maxCount;

    public long MaxCount { get; }

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxCount"/> is not positive.</exception>
    public static CountTrigger Of(long maxCount)
    {
        if (maxCount <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxCount), maxCount, "CountTrigger needs a positive count.");
        }

        return new CountTrigger(maxCount);
    }

    public override TriggerResult OnElement(long timestamp, TimeWindow window, ITriggerContext context)
    {
        var count = context.GetReducingState(CountState);
        count.Add(1);
        if (count.TryGet(out var n) && n >= MaxCount)
        {
            count.Clear();
            return TriggerResult.Fire;
        }

        return TriggerResult.Continue;
    }

    public override TriggerResult OnEventTime(long time, TimeWindow window, ITriggerContext context) => TriggerResult.Continue;

    public override TriggerResult OnProcessingTime(long time, TimeWindow window, ITriggerContext context) => TriggerResult.Continue;

    public override void Clear(TimeWindow window, ITriggerContext context) => context.GetReducingState(CountState).Clear();

    public override bool CanMerge => true;

    public override void OnMerge(TimeWindow window, ITriggerContext context) => context.MergeReducingState(CountState);

    public override string ToString() => $"CountTrigger({MaxCount})";
}
