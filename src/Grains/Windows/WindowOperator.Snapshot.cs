using Orleans.Serialization;
using Sluice.State;
using Sluice.State.Snapshots;

namespace Sluice.Windows;

/// <summary>Snapshot and restore of a window operator's key-group state (accumulators and timers).</summary>
internal sealed partial class WindowOperator<TIn, TKey, TAcc, TResult, TOut>
{
    /// <summary>
    /// Names what the snapshot bytes mean: the operator, its key and accumulator types, and the layout version.
    /// A snapshot is only restored into an operator with the same schema.
    /// </summary>
    public string SnapshotSchema(string operatorName) =>
        $"window:{operatorName}|key:{typeof(TKey).FullName}|acc:{typeof(TAcc).FullName}|layout:1";

    public byte[] Snapshot() => Snapshot(_snapshotSerializer ?? throw new InvalidOperationException("This window operator was built without a snapshot serializer."), _name);

    public void Restore(ReadOnlyMemory<byte> snapshot) =>
        Restore(snapshot, _snapshotSerializer ?? throw new InvalidOperationException("This window operator was built without a snapshot serializer."), _name);

    public byte[] Snapshot(Serializer<WindowSnapshot<TKey, TAcc>> serializer, string operatorName)
    {
        var entries = _state.Entries;
        var snapshot = new WindowSnapshot<TKey, TAcc>
        {
            Keys = new TKey[entries.Count],
            WindowStarts = new long[entries.Count],
            WindowEnds = new long[entries.Count],
            Accumulators = new TAcc[entries.Count],
            EventTimers = Columns(_timers.EventTimers),
            ProcessingTimers = Columns(_timers.ProcessingTimers),
            Watermark = CurrentWatermark,
        };
        var i = 0;
        foreach (var (scope, accumulator) in entries)
        {
            snapshot.Keys[i] = scope.Key;
            snapshot.WindowStarts[i] = scope.Window.Start;
            snapshot.WindowEnds[i] = scope.Window.End;
            snapshot.Accumulators[i] = accumulator;
            i++;
        }

        return SnapshotEnvelope.Wrap(SnapshotSchema(operatorName), serializer.SerializeToArray(snapshot));
    }

    /// <summary>Replaces all state with the snapshot's; checks frame, checksum and schema first, so a bad blob changes nothing.</summary>
    public void Restore(ReadOnlyMemory<byte> blob, Serializer<WindowSnapshot<TKey, TAcc>> serializer, string operatorName)
    {
        var payload = SnapshotEnvelope.Unwrap(blob, SnapshotSchema(operatorName), $"window operator '{operatorName}'");
        var snapshot = serializer.Deserialize(payload)
            ?? throw new SnapshotCorruptedException($"window operator '{operatorName}': the snapshot payload is empty.");
        _state.Clear();
        _timers.Clear();
        for (var i = 0; i < snapshot.Keys.Length; i++)
        {
            _state.Set(new WindowScope<TKey>(snapshot.Keys[i], new TimeWindow(snapshot.WindowStarts[i], snapshot.WindowEnds[i])), snapshot.Accumulators[i]);
        }

        Register(snapshot.EventTimers, _timers.RegisterEventTime);
        Register(snapshot.ProcessingTimers, _timers.RegisterProcessingTime);
        CurrentWatermark = snapshot.Watermark;
    }

    private static TimerColumns<TKey> Columns(IReadOnlyCollection<(WindowScope<TKey> Scope, long Time)> timers)
    {
        var columns = new TimerColumns<TKey>
        {
            Keys = new TKey[timers.Count],
            WindowStarts = new long[timers.Count],
            WindowEnds = new long[timers.Count],
            Times = new long[timers.Count],
        };
        var i = 0;
        foreach (var (scope, time) in timers)
        {
            columns.Keys[i] = scope.Key;
            columns.WindowStarts[i] = scope.Window.Start;
            columns.WindowEnds[i] = scope.Window.End;
            columns.Times[i] = time;
            i++;
        }

        return columns;
    }

    private static void Register(TimerColumns<TKey> timers, Action<WindowScope<TKey>, long> register)
    {
        for (var i = 0; i < timers.Keys.Length; i++)
        {
            register(new WindowScope<TKey>(timers.Keys[i], new TimeWindow(timers.WindowStarts[i], timers.WindowEnds[i])), timers.Times[i]);
        }
    }
}
