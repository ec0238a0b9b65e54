using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.State;
using Sluice.Windows;

namespace Sluice.Joins;

/// <summary>
/// The window join of one key group (Flink's <c>JoinedStreams</c>): each record goes to the windows the assigner gives
/// it, kept per side in map state by window; when the watermark passes a window's last millisecond, every left record
/// of the key and window is joined with every right one (the cross product), stamped with the window's last
/// millisecond, and both buffers of the window are removed. A record all of whose windows have already fired is
/// dropped and counted as late, or sent to its side's late output (zero allowed lateness, as the window operator).
/// </summary>
/// <remarks>Windows are taken as the assigner gives them; sessions merge, and are joined by <see cref="SessionWindowJoinFunction{TKey,TLeft,TRight,TOut}"/>.</remarks>
internal sealed class WindowJoinFunction<TKey, TLeft, TRight, TOut> : KeyedCoProcessFunction<TKey, TLeft, TRight, TOut>
    where TKey : notnull
{
    internal static readonly MapStateDescriptor<TimeWindow, int> LeftCounts = new("window-join-left-counts");
    internal static readonly MapStateDescriptor<TimeWindow, int> RightCounts = new("window-join-right-counts");
    internal static readonly MapStateDescriptor<(TimeWindow Window, int Index), TLeft> LeftBuffer = new("window-join-left");
    internal static readonly MapStateDescriptor<(TimeWindow Window, int Index), TRight> RightBuffer = new("window-join-right");

    private readonly WindowAssigner _assigner;
    private readonly Func<TLeft, TRight, TOut> _select;
    private readonly TimeWindow[] _windows;
    private readonly OutputTag<TLeft>? _leftLate;
    private readonly OutputTag<TRight>? _rightLate;
    private readonly List<KeyValuePair<TimeWindow, int>> _due = [];
    private IVisitableMapState<TimeWindow, int> _leftCounts = null!;
    private IVisitableMapState<TimeWindow, int> _rightCounts = null!;
    private IMapState<(TimeWindow Window, int Index), TLeft> _left = null!;
    private IMapState<(TimeWindow Window, int Index), TRight> _right = null!;

    public WindowJoinFunction(WindowAssigner assigner, Func<TLeft, TRight, TOut> select, OutputTag<TLeft>? leftLate = null, OutputTag<TRight>? rightLate = null)
    {
        _leftLate = leftLate;
        _rightLate = rightLate;
        _assigner = assigner;
        _select = select;
        _windows = new TimeWindow[assigner.MaxWindowsPerRecord];
    }

    public override void Open(IKeyedRuntimeContext state)
    {
        _leftCounts = state.GetMapState(LeftCounts).Visitable();
        _rightCounts = state.GetMapState(RightCounts).Visitable();
        _left = state.GetMapState(LeftBuffer);
        _right = state.GetMapState(RightBuffer);
    }

    public override void ProcessElement1(TLeft value, IKeyedProcessContext<TKey> ctx, ICollector<TOut> output) => Add(_leftCounts, _left, value, ctx, _leftLate);

    public override void ProcessElement2(TRight value, IKeyedProcessContext<TKey> ctx, ICollector<TOut> output) => Add(_rightCounts, _right, value, ctx, _rightLate);

    /// <summary>Fires every window of the key whose last millisecond the watermark has reached: the cross product of its two sides.</summary>
    public override void OnTimer(long time, IOnTimerContext<TKey> ctx, ICollector<TOut> output)
    {
        var runtime = (IJoinRuntime)ctx;
        CollectDue(_leftCounts, time);
        for (var w = 0; w < _due.Count; w++)
        {
            var (window, lefts) = (_due[w].Key, _due[w].Value);
            if (_rightCounts.TryGetValue(window, out var rights))
            {
                runtime.SetOutputTimestamp(window.MaxTimestamp);
                WindowJoinBuffers.Cross(_left, lefts, _right, rights, window, _select, output);
                WindowJoinBuffers.Clear(_rightCounts, _right, window, rights);
            }

            WindowJoinBuffers.Clear(_leftCounts, _left, window, lefts);
        }

        CollectDue(_rightCounts, time);
        for (var w = 0; w < _due.Count; w++)
        {
            WindowJoinBuffers.Clear(_rightCounts, _right, _due[w].Key, _due[w].Value);
        }

        _due.Clear();
    }

    /// <summary>Reads one side's windows the watermark has reached, with their record counts, into <see cref="_due"/> (in the order the state gives them).</summary>
    private void CollectDue(IVisitableMapState<TimeWindow, int> counts, long time)
    {
        _due.Clear();
        var due = new DueWindows(_due, time);
        counts.Visit(ref due);
    }

    /// <summary>Adds the record to each of its windows that has not fired (slot = the window's count so far); all fired: late.</summary>
    private void Add<T>(IMapState<TimeWindow, int> counts, IMapState<(TimeWindow Window, int Index), T> buffer, T value, IKeyedProcessContext<TKey> ctx, OutputTag<T>? lateTag)
    {
        var ts = ctx.Timestamp ?? throw new InvalidOperationException(
            "A window join needs event timestamps on both inputs: call WithTimestamps on each stream before Join.");
        var count = _assigner.AssignWindows(ts, ctx.CurrentProcessingTime, _windows);
        var added = false;
        for (var i = 0; i < count; i++)
        {
            var window = _windows[i];
            if (window.MaxTimestamp <= ctx.CurrentWatermark)
            {
                continue; // this window has fired
            }

            WindowJoinBuffers.Append(counts, buffer, window, value);
            ctx.Timers.RegisterEventTimeTimer(window.MaxTimestamp);
            added = true;
        }

        if (!added)
        {
            LateJoinRecords.Drop(ctx, lateTag, value);
        }
    }

    /// <summary>Collects the windows whose last millisecond is at or before <c>time</c>, with their record counts.</summary>
    private readonly struct DueWindows(List<KeyValuePair<TimeWindow, int>> due, long time) : IMapEntryVisitor<TimeWindow, int>
    {
        public void Visit(TimeWindow window, int count)
        {
            if (window.MaxTimestamp <= time)
            {
                due.Add(new KeyValuePair<TimeWindow, int>(window, count));
            }
        }
    }
}
