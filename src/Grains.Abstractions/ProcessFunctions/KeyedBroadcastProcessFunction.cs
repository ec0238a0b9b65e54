using Sluice.Functions;
using Sluice.State;

namespace Sluice.ProcessFunctions;

/// <summary>
/// A keyed stream joined with a broadcast stream (Flink's <c>KeyedBroadcastProcessFunction</c>), e.g. events checked
/// against rules that change while the pipeline runs. Every record of the broadcast stream reaches every key group
/// (<see cref="ProcessBroadcastElement"/>, which may change the broadcast state); keyed records see the broadcast state
/// read-only beside their keyed state and timers (<see cref="ProcessElement"/>). Built with
/// <c>keyed.Connect(rules.Broadcast(descriptor)).Process(() =&gt; new MyFunction())</c>.
/// </summary>
/// <remarks>
/// Broadcast state is held by every key group and is in every key group's snapshot: it must be changed the same way
/// in every key group, so <see cref="ProcessBroadcastElement"/> should depend only on the broadcast record and the
/// broadcast state. As in Flink, broadcast and keyed records arrive in no defined order relative to each other; when
/// results must not depend on that order, stamp rules with event time and apply them from event-time timers (buffer
/// keyed records until the watermark passes them). The stage's watermark is the minimum over both inputs, so the
/// broadcast stream needs timestamps and watermarks too (or idleness) for event-time timers to fire.
/// </remarks>
public abstract class KeyedBroadcastProcessFunction<TKey, TIn, TBroadcast, TOut>
    where TKey : notnull
{
    /// <summary>Called once per key group before any record or timer: the place to get keyed state handles.</summary>
    public virtual void Open(IKeyedRuntimeContext state)
    {
    }

    /// <summary>Handles a keyed record with its key current; broadcast state is read-only here.</summary>
    public abstract void ProcessElement(TIn value, IReadOnlyBroadcastContext<TKey> ctx, ICollector<TOut> output);

    /// <summary>Handles a broadcast record; called in every key group, with read-write access to the broadcast state.</summary>
    public abstract void ProcessBroadcastElement(TBroadcast value, IBroadcastContext<TKey> ctx, ICollector<TOut> output);

    /// <summary>A timer of the current key fired (see <see cref="KeyedProcessFunction{TKey,TIn,TOut}.OnTimer"/>).</summary>
    public virtual void OnTimer(long time, IBroadcastOnTimerContext<TKey> ctx, ICollector<TOut> output)
    {
    }
}
