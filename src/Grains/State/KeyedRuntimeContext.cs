using Sluice.State.Serialization;

namespace Sluice.State;

/// <summary>Keyed state for user functions: the backend's states in the <see cref="VoidNamespace"/>, for the backend's current key.</summary>
internal sealed class KeyedRuntimeContext<TKey>(IKeyedStateBackend<TKey> backend, IStateSerializerProvider serializers) : IKeyedRuntimeContext
    where TKey : notnull
{
    private readonly IStateSerializer<VoidNamespace> _namespace = serializers.Get<VoidNamespace>();

    public IValueState<T> GetState<T>(ValueStateDescriptor<T> descriptor) => InVoid(backend.GetValueState(_namespace, descriptor));

    public IListState<T> GetListState<T>(ListStateDescriptor<T> descriptor) => InVoid(backend.GetListState(_namespace, descriptor));

    public IMapState<TUserKey, TUserValue> GetMapState<TUserKey, TUserValue>(MapStateDescriptor<TUserKey, TUserValue> descriptor)
        where TUserKey : notnull =>
        InVoid(backend.GetMapState(_namespace, descriptor));

    public IReducingState<T> GetReducingState<T>(ReducingStateDescriptor<T> descriptor) => InVoid(backend.GetReducingState(_namespace, descriptor));

    public IAggregatingState<TIn, TOut> GetAggregatingState<TIn, TAcc, TOut>(AggregatingStateDescriptor<TIn, TAcc, TOut> descriptor) =>
        InVoid(backend.GetAggregatingState(_namespace, descriptor));

    private static TState InVoid<TState>(TState state)
        where TState : IInternalKvState<VoidNamespace>
    {
        state.SetCurrentNamespace(VoidNamespace.Instance);
        return state;
    }
}
