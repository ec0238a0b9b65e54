namespace Sluice.Queries;

/// <summary>
/// A keyed stream made queryable with <c>KeyedStream.AsQueryableState</c> (Flink's <c>QueryableStateStream</c>): the
/// latest record per key is kept and clients read it with <c>ISluiceClient.QueryAsync&lt;TKey, T&gt;(pipeline,
/// QueryableStateName, key)</c>.
/// </summary>
public sealed class QueryableStateStream<TKey, T>
    where TKey : notnull
{
    internal QueryableStateStream(string queryableStateName) => QueryableStateName = queryableStateName;

    public string QueryableStateName { get; }
}
