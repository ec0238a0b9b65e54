using Sluice.Functions;
using Sluice.State;

namespace Sluice.ProcessFunctions;

/// <summary>
/// A keyed function over two connected streams (Flink's <c>KeyedCoProcessFunction</c>): records of both inputs are
/// partitioned by their own key selector into the same key groups, and a key's records of either input see the same
/// keyed state and timers. Built with <c>a.Connect(b).KeyBy(keyA, keyB).Process(() =&gt; new MyFunction())</c>.
/// </summary>
/// <remarks>
/// The stage's watermark is the minimum over both inputs, and checkpoint barriers are aligned across both. The two
/// inputs interleave in no defined order (as in Flink): logic whose result must not depend on arrival order buffers
/// records in state and acts on them from an event-time timer, once the watermark says both inputs have passed.
/// Each key group runs its own instance when the stage is built with a factory; an instance passed directly is shared
/// by every key group of a silo and must keep no mutable fields.
/// </remarks>
public abstract class KeyedCoProcessFunction<TKey, TIn1, TIn2, TOut>
    where TKey : notnull
{
    /// <summary>Called once per key group before any record or timer: the place to get state handles.</summary>
    public virtual void Open(IKeyedRuntimeContext state)
    {
    }

    /// <summary>Handles a record of the first input, with its key current.</summary>
    public abstract void ProcessElement1(TIn1 value, IKeyedProcessContext<TKey> ctx, ICollector<TOut> output);

    /// <summary>Handles a record of the second input, with its key current.</summary>
    public abstract void ProcessElement2(TIn2 value, IKeyedProcessContext<TKey> ctx, ICollector<TOut> output);

    /// <summary>A timer of the current key fired (see <see cref="KeyedProcessFunction{TKey,TIn,TOut}.OnTimer"/>).</summary>
    public virtual void OnTimer(long time, IOnTimerContext<TKey> ctx, ICollector<TOut> output)
    {
    }
}
