namespace Sluice.Exchange;

/// <summary>The untyped face of a per-channel buffer, for the code that decides when to send.</summary>
internal interface IRecordBatchBuilder
{
    int Count { get; }

    /// <summary>Moves the buffered records into a new batch and empties the buffer.</summary>
    RecordBatch Build();
}

/// <summary>Accumulates records for one channel; its arrays are reused from batch to batch.</summary>
internal sealed class RecordBatchBuilder<T>(int capacity) : IRecordBatchBuilder
{
    private T[] _values = new T[Math.Max(capacity, 4)];
    private long[] _timestamps = new long[Math.Max(capacity, 4)];

    public int Count { get; private set; }

    public void Add(T value, long timestamp)
    {
        if (Count == _values.Length)
        {
            Array.Resize(ref _values, _values.Length * 2);
            Array.Resize(ref _timestamps, _timestamps.Length * 2);
        }

        _values[Count] = value;
        _timestamps[Count] = timestamp;
        Count++;
    }

    public RecordBatch Build()
    {
        var batch = new RecordBatch<T>(_values.AsSpan(0, Count).ToArray(), _timestamps.AsSpan(0, Count).ToArray());
        // Drop references so buffered records can be collected.
        if (System.Runtime.CompilerServices.RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        {
            Array.Clear(_values, 0, Count);
        }

        Count = 0;
        return batch;
    }
}
