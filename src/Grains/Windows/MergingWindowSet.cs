using System.Runtime.InteropServices;
using Sluice.State;

namespace Sluice.Windows;

/// <summary>What the operator does when windows merge (Flink's <c>MergingWindowSet.MergeFunction</c>).</summary>
internal interface IWindowMergeCallback
{
    /// <param name="mergeResult">The window the merged windows became.</param>
    /// <param name="mergedWindows">The in-flight windows that merged into it (the new window left out).</param>
    /// <param name="stateWindowResult">The namespace that keeps the merged contents.</param>
    /// <param name="mergedStateWindows">The namespaces whose contents move into <paramref name="stateWindowResult"/>.</param>
    void Merge(TimeWindow mergeResult, ReadOnlySpan<TimeWindow> mergedWindows, TimeWindow stateWindowResult, ReadOnlySpan<TimeWindow> mergedStateWindows);
}

/// <summary>
/// The in-flight windows of one key of a merging assigner and, for each, the window whose namespace holds its contents
/// (Flink's <c>MergingWindowSet</c>): when windows merge, the result takes over one of their state windows, so only the
/// other contents move, and a window keeps its state namespace however it grows. The mapping is keyed state in the
/// backend (state <see cref="StateName"/>, void namespace, as flat (window, state window) pairs), so it is checkpointed
/// and restored with the window contents. The operator <see cref="Load"/>s it for a key, changes it and
/// <see cref="Persist"/>s it; the scratch lists are reused, and the backend is only written when the mapping changed.
/// </summary>
internal sealed class MergingWindowSet
{
    /// <summary>The name of the mapping's state in the backend.</summary>
    public const string StateName = "_window-merging-set";

    private readonly MergingWindowAssigner _assigner;
    private readonly IInternalValueState<VoidNamespace, TimeWindow[]> _state;
    private readonly List<TimeWindow> _windows = [];
    private readonly List<TimeWindow> _stateWindows = [];
    private readonly List<TimeWindow> _candidates = [];
    private readonly List<TimeWindow> _group = [];
    private readonly List<TimeWindow> _groupStates = [];
    private TimeWindow[]? _pairs;
    private bool _changed;

    public MergingWindowSet(MergingWindowAssigner assigner, IInternalValueState<VoidNamespace, TimeWindow[]> state)
    {
        _assigner = assigner;
        _state = state;
        _state.SetCurrentNamespace(VoidNamespace.Instance);
    }

    public int Count => _windows.Count;

    /// <summary>Reads the backend's current key's mapping.</summary>
    public void Load()
    {
        _windows.Clear();
        _stateWindows.Clear();
        _changed = false;
        _pairs = null;
        if (!_state.TryGetValue(out var pairs) || pairs is null)
        {
            return;
        }

        _pairs = pairs;

        for (var i = 0; i + 1 < pairs.Length; i += 2)
        {
            _windows.Add(pairs[i]);
            _stateWindows.Add(pairs[i + 1]);
        }
    }

    /// <summary>Writes the mapping back for the backend's current key when it changed (cleared when empty).</summary>
    public void Persist()
    {
        if (!_changed)
        {
            return;
        }

        _changed = false;
        if (_windows.Count == 0)
        {
            _state.Clear();
            return;
        }

        // The key's own array (the one Load read) when the number of windows stayed, as when a session grew: snapshots
        // are serialized when taken, so none holds it. A new array only when windows were added, merged or retired.
        var pairs = _pairs is { } loaded && loaded.Length == _windows.Count * 2 ? loaded : new TimeWindow[_windows.Count * 2];
        for (var i = 0; i < _windows.Count; i++)
        {
            pairs[2 * i] = _windows[i];
            pairs[(2 * i) + 1] = _stateWindows[i];
        }

        _state.Update(pairs);
        _pairs = pairs;
    }

    /// <summary>The namespace holding <paramref name="window"/>'s contents; false for a window that is not in flight (merged away or retired).</summary>
    public bool TryGetStateWindow(TimeWindow window, out TimeWindow stateWindow)
    {
        var i = _windows.IndexOf(window);
        stateWindow = i < 0 ? default : _stateWindows[i];
        return i >= 0;
    }

    /// <summary>Forgets a window whose state was cleared (cleanup, or a window late on arrival).</summary>
    public void RetireWindow(TimeWindow window)
    {
        var i = _windows.IndexOf(window);
        if (i < 0)
        {
            throw new InvalidOperationException($"Window {window} is not in the in-flight window set.");
        }

        _windows.RemoveAt(i);
        _stateWindows.RemoveAt(i);
        _changed = true;
    }

    /// <summary>
    /// Adds <paramref name="newWindow"/> and merges every group of in-flight windows it makes intersect (Flink's
    /// <c>addWindow</c>); the callback moves contents and timers for each group that really merged. Returns the window
    /// the new one ended up in.
    /// </summary>
    public TimeWindow AddWindow(TimeWindow newWindow, IWindowMergeCallback callback)
    {
        if (_windows.IndexOf(newWindow) >= 0 && !IntersectsAnotherWindow(newWindow))
        {
            return newWindow; // already in flight and merges with nothing: the mapping stays as it is
        }

        _candidates.Clear();
        _candidates.AddRange(_windows);
        if (_windows.IndexOf(newWindow) < 0)
        {
            _candidates.Add(newWindow);
        }

        SortByStart(_candidates);
        var result = newWindow;
        var merged = false;
        var i = 0;
        while (i < _candidates.Count)
        {
            // Flink's TimeWindow.mergeWindows: in start order, a window joins the running group when it intersects the group's cover.
            var cover = _candidates[i];
            _group.Clear();
            _group.Add(_candidates[i]);
            var j = i + 1;
            while (j < _candidates.Count && _assigner.Intersects(cover, _candidates[j]))
            {
                cover = _assigner.Cover(cover, _candidates[j]);
                _group.Add(_candidates[j]);
                j++;
            }

            i = j;
            if (_group.Count > 1)
            {
                merged |= MergeGroup(cover, newWindow, callback, ref result);
            }
        }

        if (!merged && _windows.IndexOf(newWindow) < 0)
        {
            _windows.Add(newWindow);
            _stateWindows.Add(newWindow);
            _changed = true;
        }

        return result;
    }

    private bool MergeGroup(TimeWindow mergeResult, TimeWindow newWindow, IWindowMergeCallback callback, ref TimeWindow result)
    {
        var containsNew = _group.Remove(newWindow);
        if (containsNew)
        {
            result = mergeResult;
        }

        // The result keeps the first merged window's namespace; the others' contents move into it.
        TryGetStateWindow(_group[0], out var stateWindowResult);
        _groupStates.Clear();
        foreach (var window in _group)
        {
            var index = _windows.IndexOf(window);
            if (_stateWindows[index] != stateWindowResult)
            {
                _groupStates.Add(_stateWindows[index]);
            }

            _windows.RemoveAt(index);
            _stateWindows.RemoveAt(index);
        }

        _windows.Add(mergeResult);
        _stateWindows.Add(stateWindowResult);
        _changed = true;
        if (!(_group.Count == 1 && _group[0] == mergeResult))
        {
            callback.Merge(mergeResult, CollectionsMarshal.AsSpan(_group), stateWindowResult, CollectionsMarshal.AsSpan(_groupStates));
        }

        return containsNew;
    }

    private bool IntersectsAnotherWindow(TimeWindow window)
    {
        foreach (var other in _windows)
        {
            if (other != window && _assigner.Intersects(window, other))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Insertion sort: a key has a handful of sessions in flight, and this allocates nothing.</summary>
    private static void SortByStart(List<TimeWindow> windows)
    {
        for (var i = 1; i < windows.Count; i++)
        {
            var current = windows[i];
            var j = i - 1;
            while (j >= 0 && (windows[j].Start > current.Start || (windows[j].Start == current.Start && windows[j].End > current.End)))
            {
                windows[j + 1] = windows[j];
                j--;
            }

            windows[j + 1] = current;
        }
    }
}
