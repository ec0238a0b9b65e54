namespace Sluice.Exchange;

/// <summary>Records of one type with their timestamps, as they travel between tasks.</summary>
[GenerateSerializer, Immutable]
internal abstract class RecordBatch
{
    public abstract int Count { get; }
}

/// <summary>
/// Exact-size arrays: one allocation per batch, none per record. Immutable once sent, so a call inside
/// one silo passes it by reference.
/// </summary>
[GenerateSerializer, Immutable]
internal sealed class RecordBatch<T>(T[] values, long[] timestamps) : RecordBatch
{
    [Id(0)]
    public T[] Values { get; } = values;

    [Id(1)]
    public long[] Timestamps { get; } = timestamps;

    public override int Count => Values.Length;
}
