namespace Sluice.State;

/// <summary>
/// What a keyed function reaches its state through (Flink's <c>RuntimeContext</c> for keyed state). Asking twice for
/// the same name returns the same handle; asking for a name with another kind or type is an error. A handle reads
/// and writes the value of the key currently being processed.
/// </summary>
public interface IKeyedRuntimeContext
{
    IValueState<T> GetState<T>(ValueStateDescriptor<T> descriptor);

    IListState<T> GetListState<T>(ListStateDescriptor<T> descriptor);

    IMapState<TUserKey, TUserValue> GetMapState<TUserKey, TUserValue>(MapStateDescriptor<TUserKey, TUserValue> descriptor)
        where TUserKey : notnull;

    IReducingState<T> GetReducingState<T>(ReducingStateDescriptor<T> descriptor);

    IAggregatingState<TIn, TOut> GetAggregatingState<TIn, TAcc, TOut>(AggregatingStateDescriptor<TIn, TAcc, TOut> descriptor);
}
