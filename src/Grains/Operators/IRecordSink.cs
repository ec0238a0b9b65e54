namespace Sluice.Operators;

/// <summary>
/// The push interface between chained operators (Flink's <c>Output</c>): one virtual call per record per
/// operator, no allocation. <c>long.MinValue</c> as timestamp means the record has none.
/// </summary>
internal interface IRecordSink<in T>
{
    void Push(T value, long timestamp);
}

/// <summary>Sends each record to several downstream chains (a stream used by more than one consumer).</summary>
internal sealed class BroadcastSink<T>(IRecordSink<T>[] targets) : IRecordSink<T>
{
    public void Push(T value, long timestamp)
    {
        foreach (var target in targets)
        {
            target.Push(value, timestamp);
        }
    }
}
