using Sluice.State;

namespace Sluice.ProcessFunctions;

/// <summary>What a <see cref="KeyedProcessFunction{TKey,TIn,TOut}"/> sees while it handles a record or a timer.</summary>
public interface IKeyedProcessContext<out TKey>
    where TKey : notnull
{
    /// <summary>The key of the record (or timer) being handled; state handles read and write this key's values.</summary>
    TKey CurrentKey { get; }

    /// <summary>The record's timestamp (or the event-time timer's time); null when it has none.</summary>
    long? Timestamp { get; }

    long CurrentWatermark { get; }

    long CurrentProcessingTime { get; }

    /// <summary>Keyed state by descriptor, scoped to <see cref="CurrentKey"/>.</summary>
    IKeyedRuntimeContext State { get; }

    /// <summary>Timers of <see cref="CurrentKey"/>.</summary>
    ITimerService Timers { get; }

    /// <summary>Emits <paramref name="value"/> to the side output <paramref name="tag"/>, with the same timestamp as main output.</summary>
    void Output<T>(OutputTag<T> tag, T value);
}

/// <summary>The context of <see cref="KeyedProcessFunction{TKey,TIn,TOut}.OnTimer"/>: also says which clock fired.</summary>
public interface IOnTimerContext<out TKey> : IKeyedProcessContext<TKey>
    where TKey : notnull
{
    TimeDomain TimeDomain { get; }
}
