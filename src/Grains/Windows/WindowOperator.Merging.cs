namespace Sluice.Windows;

/// <summary>
/// The merging-assigner path of the window operator (Flink's <c>WindowOperator.processElement</c> for a
/// <c>MergingWindowAssigner</c>): each new window is merged into the key's in-flight windows through the
/// <see cref="MergingWindowSet"/>, which moves the merged contents in the state backend; the trigger re-registers its
/// timers for the merged window and forgets those of the windows that merged, and their cleanup timers go too.
/// </summary>
internal sealed partial class WindowOperator<TIn, TKey, TAcc, TResult, TOut> : IWindowMergeCallback
{
    private readonly MergingWindowSet? _merging;
    private TimeWindow[] _mergeScratch = new TimeWindow[4];

    /// <summary>How many windows of <see cref="_mergeScratch"/> are merging right now (for the trigger's state merge); -1 outside a merge.</summary>
    private int _mergedCount = -1;

    private bool AddToMergingWindows(TKey key, TIn value, long timestamp, int count)
    {
        var merging = _merging!;
        merging.Load();
        var accepted = false;
        for (var i = 0; i < count; i++)
        {
            _scope = new WindowScope<TKey>(key, _assigned[i]);
            var window = merging.AddWindow(_assigned[i], this);

            // A record behind the watermark still lands when the session it joins is not late.
            if (IsLate(window))
            {
                merging.RetireWindow(window);
                continue;
            }

            accepted = true;
            merging.TryGetStateWindow(window, out var stateWindow);
            _scope = new WindowScope<TKey>(key, window);
            _contents.SetCurrentNamespace(stateWindow);
            _contents.Add(value, timestamp);
            _firing = FiringOf(window);
            Apply(_trigger.OnElement(value, timestamp, window, this));
            RegisterCleanupTimer(window);
        }

        merging.Persist();
        return accepted;
    }

    void IWindowMergeCallback.Merge(TimeWindow mergeResult, ReadOnlySpan<TimeWindow> mergedWindows, TimeWindow stateWindowResult, ReadOnlySpan<TimeWindow> mergedStateWindows)
    {
        if (IsLate(mergeResult))
        {
            // Merging only grows windows, so a merge result is never behind windows that were not late (Flink asserts the same).
            throw new InvalidOperationException($"Window stage '{_name}': windows merged into {mergeResult}, which is already late.");
        }

        var key = _scope.Key;
        if (_mergeScratch.Length < mergedWindows.Length)
        {
            _mergeScratch = new TimeWindow[mergedWindows.Length * 2];
        }

        // The span points into the set's scratch list; copy before calling out (a trigger must not, but could, touch the set).
        mergedWindows.CopyTo(_mergeScratch);
        _scope = new WindowScope<TKey>(key, mergeResult);
        _mergedCount = mergedWindows.Length;
        try
        {
            _trigger.OnMerge(mergeResult, this);
        }
        finally
        {
            _mergedCount = -1;
        }

        for (var i = 0; i < mergedWindows.Length; i++)
        {
            var merged = _mergeScratch[i];
            _scope = new WindowScope<TKey>(key, merged);
            _trigger.Clear(merged, this);
            DeleteCleanupTimer(merged);
        }

        _contents.MergeNamespaces(stateWindowResult, mergedStateWindows);
        _scope = new WindowScope<TKey>(key, mergeResult);
    }

    private void DeleteCleanupTimer(TimeWindow window)
    {
        var cleanup = CleanupTime(window);
        if (cleanup == long.MaxValue)
        {
            return;
        }

        if (_assigner.IsEventTime)
        {
            _timers.DeleteEventTime(_scope, cleanup);
        }
        else
        {
            _timers.DeleteProcessingTime(_scope, cleanup);
        }
    }
}
