using System.Collections;
using Sluice.Functions;

namespace Sluice.Operators;

/// <summary>An operator that runs per key inside a key group and owns keyed state and timers.</summary>
internal interface IKeyedOperator<in TIn, in TKey>
{
    long? NextProcessingTime { get; }

    int StateEntries { get; }

    void ProcessElement(TKey key, TIn value, long timestamp);

    /// <summary>Fires event-time timers up to <paramref name="watermark"/>.</summary>
    void OnWatermark(long watermark);

    void OnProcessingTime(long now);

    /// <summary>The operator's keyed state and timers, framed with its schema and a checksum.</summary>
    byte[] Snapshot();

    /// <summary>Replaces all keyed state and timers with the snapshot's (checked before anything changes).</summary>
    void Restore(ReadOnlyMemory<byte> snapshot);
}

/// <summary>Counters an operator chain updates on its hot path; plain fields, read by the grain's tick.</summary>
internal sealed class OperatorCounters
{
    public long RecordsIn;
    public long RecordsOut;
    public long LateRecordsDropped;

    /// <summary>Records late for all their windows that went to the window's late-data side output instead of being dropped.</summary>
    public long LateRecordsSideOutput;
    public long InvalidRecords;
}

/// <summary>A collector that stamps what user functions emit with a fixed timestamp.</summary>
internal sealed class TimestampedCollector<T>(IRecordSink<T> output, OperatorCounters counters) : ICollector<T>
{
    public long Timestamp { get; set; }

    public void Collect(T value)
    {
        counters.RecordsOut++;
        output.Push(value, Timestamp);
    }
}

/// <summary>A reusable one-element list, so handing a single result to a window function allocates nothing.</summary>
internal sealed class SingleItemList<T> : IReadOnlyList<T>
{
    public T Value { get; set; } = default!;

    public int Count => 1;

    public T this[int index] => index == 0 ? Value : throw new ArgumentOutOfRangeException(nameof(index));

    public IEnumerator<T> GetEnumerator()
    {
        yield return Value;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
