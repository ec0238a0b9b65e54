using Sluice.State;

namespace Sluice.ProcessFunctions;

/// <summary>What <see cref="KeyedBroadcastProcessFunction{TKey,TIn,TBroadcast,TOut}.ProcessElement"/> sees: the keyed context plus the broadcast state, read-only.</summary>
public interface IReadOnlyBroadcastContext<out TKey> : IKeyedProcessContext<TKey>
    where TKey : notnull
{
    /// <summary>The broadcast state named by <paramref name="descriptor"/>, which must be one given to <c>Broadcast(...)</c>.</summary>
    IReadOnlyBroadcastState<TUserKey, TUserValue> GetBroadcastState<TUserKey, TUserValue>(MapStateDescriptor<TUserKey, TUserValue> descriptor)
        where TUserKey : notnull;
}

/// <summary>The context of a broadcast function's timer: the read-only broadcast context that also says which clock fired.</summary>
public interface IBroadcastOnTimerContext<out TKey> : IReadOnlyBroadcastContext<TKey>, IOnTimerContext<TKey>
    where TKey : notnull;

/// <summary>What <see cref="KeyedBroadcastProcessFunction{TKey,TIn,TBroadcast,TOut}.ProcessBroadcastElement"/> sees: no current key, read-write broadcast state.</summary>
public interface IBroadcastContext<out TKey>
    where TKey : notnull
{
    /// <summary>The broadcast record's timestamp; null when it has none.</summary>
    long? Timestamp { get; }

    long CurrentWatermark { get; }

    long CurrentProcessingTime { get; }

    /// <summary>The broadcast state named by <paramref name="descriptor"/>, which must be one given to <c>Broadcast(...)</c>.</summary>
    IBroadcastState<TUserKey, TUserValue> GetBroadcastState<TUserKey, TUserValue>(MapStateDescriptor<TUserKey, TUserValue> descriptor)
        where TUserKey : notnull;

    /// <summary>
    /// Calls <paramref name="function"/> once for every key of this key group that has a value of the keyed state
    /// <paramref name="descriptor"/>, with that key current, so state handles read and change that key's values
    /// (Flink's <c>applyToKeyedState</c>).
    /// </summary>
    void ApplyToKeyedState(StateDescriptor descriptor, Action<TKey> function);

    /// <summary>Emits <paramref name="value"/> to the side output <paramref name="tag"/>.</summary>
    void Output<T>(OutputTag<T> tag, T value);
}
