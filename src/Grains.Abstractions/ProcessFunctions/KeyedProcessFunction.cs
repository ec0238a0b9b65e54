using Sluice.Functions;
using Sluice.State;

namespace Sluice.ProcessFunctions;

/// <summary>
/// A keyed function with state and timers (Flink's <c>KeyedProcessFunction</c>): called once per record with the
/// record's key current, and once per timer that fires. State is keyed state from the state descriptors the function
/// asks for (<see cref="Open"/> or <see cref="IKeyedProcessContext{TKey}.State"/>); timers are registered per key and
/// time through <see cref="IKeyedProcessContext{TKey}.Timers"/>. State and timers are part of every checkpoint.
/// </summary>
/// <remarks>
/// Each key group runs its own instance when the pipeline is built with a factory
/// (<c>keyedStream.Process(() =&gt; new MyFunction())</c>), so fields set in <see cref="Open"/> (state handles) are safe.
/// An instance passed directly is shared by every key group of a silo and must keep no mutable fields.
/// </remarks>
public abstract class KeyedProcessFunction<TKey, TIn, TOut>
    where TKey : notnull
{
    /// <summary>Called once per key group before any record or timer: the place to get state handles.</summary>
    public virtual void Open(IKeyedRuntimeContext state)
    {
    }

    /// <summary>Handles one record; <paramref name="output"/> stamps what it emits with the record's timestamp.</summary>
    public abstract void ProcessElement(TIn value, IKeyedProcessContext<TKey> ctx, ICollector<TOut> output);

    /// <summary>
    /// Called when a timer of the current key fires: event-time timers once the watermark reaches their time (in time
    /// order, before the watermark goes downstream), processing-time timers once the clock does. Output of an event-time
    /// timer carries the timer's time as its timestamp; output of a processing-time timer carries none.
    /// </summary>
    public virtual void OnTimer(long time, IOnTimerContext<TKey> ctx, ICollector<TOut> output)
    {
    }
}
