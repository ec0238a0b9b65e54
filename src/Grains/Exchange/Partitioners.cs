using Sluice.KeyGroups;
using Sluice.Operators;
using Sluice.Tasks;

namespace Sluice.Exchange;

/// <summary>
/// The end of a chain before a <c>KeyBy</c>: puts each record in the buffer of its key group in the next
/// stage. A null key is counted and reported, never sent.
/// </summary>
internal sealed class KeyGroupPartitioner<T, TKey>(
    Func<T, TKey> selector,
    KeyGroupAssigner<TKey> assigner,
    RecordBatchBuilder<T>[] buffers,
    IBufferedOutput output,
    int bufferSize,
    OperatorCounters counters,
    UserErrorReporter errors,
    string stageName) : IRecordSink<T>
    where TKey : notnull
{
    public void Push(T value, long timestamp)
    {
        var key = selector(value);
        if (key is null)
        {
            errors.Report(new InvalidOperationException($"The key selector of '{stageName}' returned null; records need a key to be partitioned."), "extracting a key");
            counters.InvalidRecords++;
            return;
        }

        var group = assigner.Assign(key);
        var buffer = buffers[group];
        buffer.Add(value, timestamp);
        if (buffer.Count >= bufferSize)
        {
            output.OnBufferFull(group);
        }
    }
}

/// <summary>
/// The end of a chain before a sink: one buffer per sink task this task feeds (one, unless the sink has more
/// tasks than its input), filled round-robin.
/// </summary>
internal sealed class ForwardPartitioner<T>(RecordBatchBuilder<T>[] buffers, IBufferedOutput output, int bufferSize) : IRecordSink<T>
{
    private int _next;

    public void Push(T value, long timestamp)
    {
        var target = _next;
        _next = target + 1 == buffers.Length ? 0 : target + 1;
        var buffer = buffers[target];
        buffer.Add(value, timestamp);
        if (buffer.Count >= bufferSize)
        {
            output.OnBufferFull(target);
        }
    }
}

/// <summary>
/// The end of a chain before a broadcast edge: every record goes into the buffer of every task of the next stage
/// (Flink's broadcast partitioning), so each key group sees the whole stream in its channel's order.
/// </summary>
internal sealed class BroadcastPartitioner<T>(RecordBatchBuilder<T>[] buffers, IBufferedOutput output, int bufferSize) : IRecordSink<T>
{
    public void Push(T value, long timestamp)
    {
        for (var target = 0; target < buffers.Length; target++)
        {
            var buffer = buffers[target];
            buffer.Add(value, timestamp);
            if (buffer.Count >= bufferSize)
            {
                output.OnBufferFull(target);
            }
        }
    }
}
