using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.State;

namespace Sluice.Queries;

/// <summary>Keeps the latest record of each key in queryable value state and emits nothing (behind <c>AsQueryableState</c>).</summary>
internal sealed class LatestValueFunction<TKey, T>(ValueStateDescriptor<T> descriptor) : KeyedProcessFunction<TKey, T, T>
    where TKey : notnull
{
    private IValueState<T> _latest = null!;

    public override void Open(IKeyedRuntimeContext state) => _latest = state.GetState(descriptor);

    public override void ProcessElement(T value, IKeyedProcessContext<TKey> ctx, ICollector<T> output) => _latest.Update(value);
}
