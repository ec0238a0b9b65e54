using System.Buffers;

namespace Sluice.State.Serialization;

/// <summary>
/// Turns keys, namespaces and values of keyed state into bytes and back (Flink's <c>TypeSerializer</c>). A backend that
/// stores serialized state (RocksDB) uses it per key and value; the heap backend only for snapshots.
/// </summary>
internal interface IStateSerializer<T>
{
    void Serialize(T value, IBufferWriter<byte> output);

    T Deserialize(ReadOnlySpan<byte> bytes);
}

/// <summary>Resolves a serializer per type: the same Orleans codecs that carry records between grains.</summary>
internal interface IStateSerializerProvider
{
    IStateSerializer<T> Get<T>();
}

internal static class StateSerializerExtensions
{
    public static byte[] SerializeToArray<T>(this IStateSerializer<T> serializer, T value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        serializer.Serialize(value, buffer);
        return buffer.WrittenSpan.ToArray();
    }
}
