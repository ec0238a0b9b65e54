using System.Runtime.InteropServices;
using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.State;
using Sluice.Windows;

namespace Sluice.Joins;

/// <summary>
/// The session window join of one key group (Flink joins on a union of both sides windowed by a merging assigner): a
/// record of either side opens <c>[t, t + gap)</c>, which merges with every in-flight session of its key it overlaps or
/// touches, so the records of both sides form sessions together. The in-flight sessions of a key are a value state; each
/// session's records are kept per side in map state, moved into the merged session when sessions merge. When the
/// watermark passes a session's last millisecond, every left record of it is joined with every right one, stamped with
/// that millisecond, and the session is removed. A record whose own window is behind the watermark and merges with no
/// in-flight session is late (dropped and counted, or sent to its side's late output), as in Flink's window operator.
/// </summary>
internal sealed class SessionWindowJoinFunction<TKey, TLeft, TRight, TOut> : KeyedCoProcessFunction<TKey, TLeft, TRight, TOut>
    where TKey : notnull
{
    internal static readonly ValueStateDescriptor<TimeWindow[]> SessionsState = new("session-join-sessions");
    internal static readonly MapStateDescriptor<TimeWindow, int> LeftCounts = new("session-join-left-counts");
    internal static readonly MapStateDescriptor<TimeWindow, int> RightCounts = new("session-join-right-counts");
    internal static readonly MapStateDescriptor<(TimeWindow Window, int Index), TLeft> LeftBuffer = new("session-join-left");
    internal static readonly MapStateDescriptor<(TimeWindow Window, int Index), TRight> RightBuffer = new("session-join-right");

    private readonly Session _assigner;
    private readonly Func<TLeft, TRight, TOut> _select;
    private readonly OutputTag<TLeft>? _leftLate;
    private readonly OutputTag<TRight>? _rightLate;
    private readonly TimeWindow[] _assigned = new TimeWindow[1];
    private readonly List<TimeWindow> _sessions = [];
    private readonly List<TimeWindow> _merged = [];
    private TimeWindow[]? _stored;
    private IValueState<TimeWindow[]> _sessionsState = null!;
    private IMapState<TimeWindow, int> _leftCounts = null!;
    private IMapState<TimeWindow, int> _rightCounts = null!;
    private IMapState<(TimeWindow Window, int Index), TLeft> _left = null!;
    private IMapState<(TimeWindow Window, int Index), TRight> _right = null!;

    public SessionWindowJoinFunction(Session assigner, Func<TLeft, TRight, TOut> select, OutputTag<TLeft>? leftLate = null, OutputTag<TRight>? rightLate = null)
    {
        _assigner = assigner;
        _select = select;
        _leftLate = leftLate;
        _rightLate = rightLate;
    }

    public override void Open(IKeyedRuntimeContext state)
    {
        _sessionsState = state.GetState(SessionsState);
        _leftCounts = state.GetMapState(LeftCounts);
        _rightCounts = state.GetMapState(RightCounts);
        _left = state.GetMapState(LeftBuffer);
        _right = state.GetMapState(RightBuffer);
    }

    public override void ProcessElement1(TLeft value, IKeyedProcessContext<TKey> ctx, ICollector<TOut> output)
    {
        if (TryJoinSession(ctx, out var session))
        {
            WindowJoinBuffers.Append(_leftCounts, _left, session, value);
        }
        else
        {
            LateJoinRecords.Drop(ctx, _leftLate, value);
        }
    }

    public override void ProcessElement2(TRight value, IKeyedProcessContext<TKey> ctx, ICollector<TOut> output)
    {
        if (TryJoinSession(ctx, out var session))
        {
            WindowJoinBuffers.Append(_rightCounts, _right, session, value);
        }
        else
        {
            LateJoinRecords.Drop(ctx, _rightLate, value);
        }
    }

    /// <summary>Fires every session of the key whose last millisecond the watermark has reached: the cross product of its sides.</summary>
    public override void OnTimer(long time, IOnTimerContext<TKey> ctx, ICollector<TOut> output)
    {
        Load();
        var runtime = (IJoinRuntime)ctx;
        for (var s = _sessions.Count - 1; s >= 0; s--)
        {
            var session = _sessions[s];
            if (session.MaxTimestamp > time)
            {
                continue;
            }

            _leftCounts.TryGetValue(session, out var lefts);
            _rightCounts.TryGetValue(session, out var rights);
            runtime.SetOutputTimestamp(session.MaxTimestamp);
            WindowJoinBuffers.Cross(_left, lefts, _right, rights, session, _select, output);
            WindowJoinBuffers.Clear(_leftCounts, _left, session, lefts);
            WindowJoinBuffers.Clear(_rightCounts, _right, session, rights);
            _sessions.RemoveAt(s);
        }

        Store();
    }

    /// <summary>
    /// Merges the record's window <c>[t, t + gap)</c> with the key's in-flight sessions it overlaps or touches (moving
    /// their records into the merged session); false when it merges with none and is behind the watermark (late).
    /// </summary>
    private bool TryJoinSession(IKeyedProcessContext<TKey> ctx, out TimeWindow session)
    {
        var ts = ctx.Timestamp ?? throw new InvalidOperationException(
            "A window join needs event timestamps on both inputs: call WithTimestamps on each stream before Join.");
        _assigner.AssignWindows(ts, ctx.CurrentProcessingTime, _assigned);
        session = _assigned[0];
        Load();
        _merged.Clear();
        bool grew;
        do
        {
            grew = false;
            for (var s = _sessions.Count - 1; s >= 0; s--)
            {
                if (_assigner.Intersects(_sessions[s], session))
                {
                    session = _assigner.Cover(_sessions[s], session);
                    _merged.Add(_sessions[s]);
                    _sessions.RemoveAt(s);
                    grew = true;
                }
            }
        }
        while (grew);

        if (_merged.Count == 0 && session.MaxTimestamp <= ctx.CurrentWatermark)
        {
            return false;
        }

        foreach (var merged in _merged)
        {
            if (merged != session)
            {
                WindowJoinBuffers.Move(_leftCounts, _left, merged, session);
                WindowJoinBuffers.Move(_rightCounts, _right, merged, session);
                ctx.Timers.DeleteEventTimeTimer(merged.MaxTimestamp);
            }
        }

        _sessions.Add(session);
        Store();
        ctx.Timers.RegisterEventTimeTimer(session.MaxTimestamp);
        return true;
    }

    /// <summary>Reads the key's in-flight sessions into <see cref="_sessions"/> (a list reused for every record).</summary>
    private void Load()
    {
        _sessions.Clear();
        _stored = _sessionsState.TryGetValue(out var sessions) ? sessions : null;
        if (_stored is not null)
        {
            _sessions.AddRange(_stored);
        }
    }

    /// <summary>
    /// Writes the key's sessions back: nothing when they did not change, into the key's own array (the one <see cref="Load"/>
    /// read; snapshots are serialized when taken, so none holds it) when their number stayed, as when a session grew; a new
    /// array only when a session opened, merged or fired.
    /// </summary>
    private void Store()
    {
        var sessions = CollectionsMarshal.AsSpan(_sessions);
        if (sessions.IsEmpty)
        {
            _sessionsState.Clear();
        }
        else if (_stored is null || _stored.Length != sessions.Length)
        {
            _sessionsState.Update(sessions.ToArray());
        }
        else if (!sessions.SequenceEqual(_stored))
        {
            sessions.CopyTo(_stored);
            _sessionsState.Update(_stored);
        }

        _stored = null;
    }
}
