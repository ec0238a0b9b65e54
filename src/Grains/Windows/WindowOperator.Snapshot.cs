using Sluice.State.Serialization;
using Sluice.State.Snapshots;

namespace Sluice.Windows;

/// <summary>
/// Snapshot and restore of a window operator's key group: the backend's state (the window contents), the timers and the
/// watermark, in one framed blob. Taken synchronously, so the same state gives the same bytes (incremental checkpoints).
/// </summary>
internal sealed partial class WindowOperator<TIn, TKey, TAcc, TResult, TOut>
{
    /// <summary>
    /// Names what the snapshot bytes mean: the operator, its key and accumulator types, and the layout version.
    /// A snapshot is only restored into an operator with the same schema.
    /// </summary>
    public string SnapshotSchema => $"window:{_name}|key:{typeof(TKey).FullName}|acc:{typeof(TAcc).FullName}|layout:2";

    public byte[] Snapshot()
    {
        var snapshot = new WindowSnapshot<TKey>
        {
            State = _backend.Snapshot(),
            EventTimers = Columns(_timers.EventTimers),
            ProcessingTimers = Columns(_timers.ProcessingTimers),
            Watermark = CurrentWatermark,
        };
        return SnapshotEnvelope.Wrap(SnapshotSchema, _snapshotSerializer.SerializeToArray(snapshot));
    }

    /// <summary>Replaces all state with the snapshot's; checks frame, checksum and schemas first, so a bad blob changes nothing.</summary>
    public void Restore(ReadOnlyMemory<byte> blob)
    {
        var payload = SnapshotEnvelope.Unwrap(blob, SnapshotSchema, $"window operator '{_name}'");
        var snapshot = _snapshotSerializer.Deserialize(payload.Span)
            ?? throw new SnapshotCorruptedException($"window operator '{_name}': the snapshot payload is empty.");
        _backend.Restore(snapshot.State);
        _timers.Clear();
        Register(snapshot.EventTimers, _timers.RegisterEventTime);
        Register(snapshot.ProcessingTimers, _timers.RegisterProcessingTime);
        CurrentWatermark = snapshot.Watermark;
        _time.Watermark = snapshot.Watermark;
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
