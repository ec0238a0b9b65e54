namespace Sluice.State;

/// <summary>Called for each entry of a map state read in place (see <see cref="IVisitableMapState{TUserKey,TUserValue}"/>).</summary>
internal interface IMapEntryVisitor<in TUserKey, in TUserValue>
{
    void Visit(TUserKey key, TUserValue value);
}

/// <summary>Called for each element of a list state read in place (see <see cref="IVisitableListState{T}"/>).</summary>
internal interface IListElementVisitor<in T>
{
    void Visit(T element);
}

/// <summary>
/// A map state whose entries can be read in place, without the copy <see cref="IMapState{TUserKey,TUserValue}.Entries"/>
/// returns: what operators read state with on their hot paths. <see cref="Visit{TVisitor}"/> is a read like
/// <c>Entries()</c> (expired entries go, a time-to-live renewed on read is renewed) and visits in the same order; the
/// visitor must not change the state while it runs. A heap backend walks its map; a backend of serialized bytes walks the
/// key's range, deserializing entry by entry. The map states of the keyed state backends implement it.
/// </summary>
internal interface IVisitableMapState<TUserKey, TUserValue> : IMapState<TUserKey, TUserValue>
    where TUserKey : notnull
{
    /// <summary>Calls <paramref name="visitor"/> for each of the current key's live entries (a struct, so nothing is allocated).</summary>
    void Visit<TVisitor>(ref TVisitor visitor)
        where TVisitor : struct, IMapEntryVisitor<TUserKey, TUserValue>;
}

/// <summary>A list state whose elements can be read in place, without the copy <see cref="IListState{T}.Get"/> returns (as <see cref="IVisitableMapState{TUserKey,TUserValue}"/>).</summary>
internal interface IVisitableListState<T> : IListState<T>
{
    /// <summary>Calls <paramref name="visitor"/> for each of the current key's live elements, in the order they were added.</summary>
    void Visit<TVisitor>(ref TVisitor visitor)
        where TVisitor : struct, IListElementVisitor<T>;
}

/// <summary>Appends the visited elements to a list the caller reuses.</summary>
internal readonly struct AppendTo<T>(List<T> target) : IListElementVisitor<T>
{
    public void Visit(T element) => target.Add(element);
}

/// <summary>The in-place reads of the states a keyed runtime context gives out.</summary>
internal static class VisitableStates
{
    /// <exception cref="InvalidOperationException">The state backend's map states cannot be read in place.</exception>
    public static IVisitableMapState<TUserKey, TUserValue> Visitable<TUserKey, TUserValue>(this IMapState<TUserKey, TUserValue> state)
        where TUserKey : notnull =>
        state as IVisitableMapState<TUserKey, TUserValue> ?? throw NotVisitable(state);

    /// <exception cref="InvalidOperationException">The state backend's list states cannot be read in place.</exception>
    public static IVisitableListState<T> Visitable<T>(this IListState<T> state) =>
        state as IVisitableListState<T> ?? throw NotVisitable(state);

    private static InvalidOperationException NotVisitable(IState state) =>
        new($"State {state.GetType().Name} cannot be read in place; the keyed state backends' states can.");
}
