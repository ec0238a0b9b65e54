using Sluice.State.Serialization;
using Sluice.State.Snapshots;

namespace Sluice.ProcessFunctions;

/// <summary>
/// Snapshot and restore of a process function's key group: the backend's keyed state, both kinds of timers, the
/// watermark and what the operator adds (broadcast state), in the same framed envelope as the window operator's.
/// </summary>
internal abstract partial class ProcessOperatorBase<TKey, TOut>
{
    /// <summary>Names what the snapshot bytes mean; a snapshot is only restored into an operator with the same schema.</summary>
    public string SnapshotSchema => $"{SchemaKind}:{Name}|key:{typeof(TKey).FullName}|layout:1";

    /// <summary>The kind of operator in the schema: <c>process</c>, <c>coprocess</c> or <c>broadcast-process</c>.</summary>
    protected abstract string SchemaKind { get; }

    public byte[] Snapshot()
    {
        var snapshot = new ProcessSnapshot<TKey>
        {
            State = _backend.Snapshot(),
            EventTimers = Columns(_timers.EventTimers),
            ProcessingTimers = Columns(_timers.ProcessingTimers),
            Watermark = CurrentWatermark,
            Broadcast = SnapshotOperatorState(),
        };
        return SnapshotEnvelope.Wrap(SnapshotSchema, _snapshotSerializer.SerializeToArray(snapshot));
    }

    /// <summary>Replaces all state and timers with the snapshot's; frame, checksum and schema are checked first.</summary>
    public void Restore(ReadOnlyMemory<byte> blob)
    {
        var payload = SnapshotEnvelope.Unwrap(blob, SnapshotSchema, $"process operator '{Name}'");
        var snapshot = _snapshotSerializer.Deserialize(payload.Span)
            ?? throw new SnapshotCorruptedException($"process operator '{Name}': the snapshot payload is empty.");
        _backend.Restore(snapshot.State);
        _timers.Clear();
        var events = snapshot.EventTimers;
        for (var i = 0; i < events.Keys.Length; i++)
        {
            _timers.RegisterEventTime(new ProcessTimerScope<TKey>(events.Keys[i]), events.Times[i]);
        }

        var processing = snapshot.ProcessingTimers;
        for (var i = 0; i < processing.Keys.Length; i++)
        {
            _timers.RegisterProcessingTime(new ProcessTimerScope<TKey>(processing.Keys[i]), processing.Times[i]);
        }

        CurrentWatermark = snapshot.Watermark;
        _time.Watermark = snapshot.Watermark;
        RestoreOperatorState(snapshot.Broadcast);
    }

    /// <summary>State of the operator beside the keyed state (broadcast state); null when it has none.</summary>
    protected virtual BroadcastStateSnapshot? SnapshotOperatorState() => null;

    protected virtual void RestoreOperatorState(BroadcastStateSnapshot? snapshot)
    {
    }

    private static KeyTimerColumns<TKey> Columns(IReadOnlyCollection<(ProcessTimerScope<TKey> Scope, long Time)> timers)
    {
        var columns = new KeyTimerColumns<TKey> { Keys = new TKey[timers.Count], Times = new long[timers.Count] };
        var i = 0;
        foreach (var (scope, time) in timers)
        {
            columns.Keys[i] = scope.Key;
            columns.Times[i] = time;
            i++;
        }

        return columns;
    }
}
