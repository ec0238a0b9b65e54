namespace Sluice.State;

/// <summary>
/// Keyed state (Flink's <c>State</c>): a handle whose value belongs to the key of the record or timer being
/// processed. The same handle reads and writes another key's value when the current key changes.
/// </summary>
public interface IState
{
    /// <summary>Removes the current key's value.</summary>
    void Clear();
}

/// <summary>One value per key (Flink's <c>ValueState</c>).</summary>
public interface IValueState<T> : IState
{
    /// <summary>The current key's value, or false when it has none (or it expired).</summary>
    bool TryGetValue(out T value);

    /// <summary>The current key's value, or <c>default</c> when it has none (or it expired).</summary>
    T? Value();

    void Update(T value);
}

/// <summary>A list per key (Flink's <c>ListState</c>); with a time-to-live, each element expires on its own.</summary>
public interface IListState<T> : IState
{
    /// <summary>A copy of the current key's elements in the order they were added; empty when it has none.</summary>
    IReadOnlyList<T> Get();

    void Add(T value);

    /// <summary>Replaces the current key's elements.</summary>
    void Update(IEnumerable<T> values);
}

/// <summary>A map per key (Flink's <c>MapState</c>); with a time-to-live, each entry expires on its own.</summary>
public interface IMapState<TUserKey, TUserValue> : IState
    where TUserKey : notnull
{
    bool TryGetValue(TUserKey key, out TUserValue value);

    bool Contains(TUserKey key);

    void Put(TUserKey key, TUserValue value);

    void Remove(TUserKey key);

    /// <summary>A copy of the current key's live entries.</summary>
    IReadOnlyList<KeyValuePair<TUserKey, TUserValue>> Entries();

    bool IsEmpty();
}

/// <summary>A value per key folded from everything added with a reduce function (Flink's <c>ReducingState</c>).</summary>
public interface IReducingState<T> : IState
{
    bool TryGet(out T value);

    void Add(T value);
}

/// <summary>
/// An accumulator per key that values are added to with an <see cref="Functions.IAggregateFunction{TIn,TAcc,TOut}"/>
/// (Flink's <c>AggregatingState</c>); reading it returns the function's result.
/// </summary>
public interface IAggregatingState<in TIn, TOut> : IState
{
    bool TryGet(out TOut result);

    void Add(TIn value);
}
