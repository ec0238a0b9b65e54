using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Sluice.Kafka;

/// <summary>
/// The write-ahead log of one exactly-once Kafka sink task: records serialised as they arrive into the open epoch,
/// sealed at a barrier into a compressed handle that the checkpoint keeps until the epoch's transaction commits.
/// </summary>
/// <remarks>
/// Record layout: key length (int32 LE, -1 for null), key UTF-8, timestamp (int64 LE, <see cref="long.MinValue"/>: none),
/// value length (int32 LE), value. Handle layout: version byte, record count (int32 LE), raw length (int32 LE), nonce
/// (int64 LE, random per sealed epoch: its commit marker carries it, so an epoch of an earlier run of the pipeline with the
/// same number is not taken for this one), then the records deflated with zlib.
/// </remarks>
internal sealed class KafkaEpochBuffer
{
    private const byte Version = 1;
    private const int HeaderLength = 17;
    private ArrayBufferWriter<byte> _open = new(4096);

    public int Count { get; private set; }

    public void Append(string? key, long timestamp, ReadOnlySpan<byte> value)
    {
        var keyLength = key is null ? 0 : Encoding.UTF8.GetByteCount(key);
        var span = _open.GetSpan(4 + keyLength + 8 + 4 + value.Length);
        BinaryPrimitives.WriteInt32LittleEndian(span, key is null ? -1 : keyLength);
        if (key is not null)
        {
            Encoding.UTF8.GetBytes(key, span[4..]);
        }

        BinaryPrimitives.WriteInt64LittleEndian(span[(4 + keyLength)..], timestamp);
        BinaryPrimitives.WriteInt32LittleEndian(span[(12 + keyLength)..], value.Length);
        value.CopyTo(span[(16 + keyLength)..]);
        _open.Advance(16 + keyLength + value.Length);
        Count++;
    }

    /// <summary>Takes the open epoch (records written from now on belong to the next one); null when it is empty.</summary>
    public SealedRecords? Seal()
    {
        if (Count == 0)
        {
            return null;
        }

        var sealedRecords = new SealedRecords(_open, Count);
        _open = new ArrayBufferWriter<byte>(Math.Max(4096, sealedRecords.Raw.WrittenCount / 2));
        Count = 0;
        return sealedRecords;
    }

    /// <summary>Records of a sealed epoch, not yet compressed (compression runs off the task's scheduler).</summary>
    internal sealed class SealedRecords(ArrayBufferWriter<byte> raw, int count)
    {
        public ArrayBufferWriter<byte> Raw { get; } = raw;

        public int Count { get; } = count;

        public byte[] ToHandle()
        {
            using var output = new MemoryStream(Raw.WrittenCount / 3 + 32);
            Span<byte> header = stackalloc byte[HeaderLength];
            header[0] = Version;
            BinaryPrimitives.WriteInt32LittleEndian(header[1..], Count);
            BinaryPrimitives.WriteInt32LittleEndian(header[5..], Raw.WrittenCount);
            BinaryPrimitives.WriteInt64LittleEndian(header[9..], Random.Shared.NextInt64(1, long.MaxValue));
            output.Write(header);
            using (var zlib = new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true))
            {
                zlib.Write(Raw.WrittenSpan);
            }

            return output.ToArray();
        }
    }

    /// <summary>The nonce of a handle (see the remarks), which a spilled epoch's reference repeats.</summary>
    public static long NonceOf(byte[] handle) =>
        KafkaEpochSpill.IsReference(handle) ? KafkaEpochSpill.NonceOf(handle)
        : handle.Length >= HeaderLength && handle[0] == Version ? BinaryPrimitives.ReadInt64LittleEndian(handle.AsSpan(9))
        : throw new FormatException($"Not a Kafka sink epoch of version {Version}.");

    /// <summary>The records of a handle, in the order they were written.</summary>
    public static KafkaEpochRecords Read(byte[] handle)
    {
        if (handle.Length < HeaderLength || handle[0] != Version)
        {
            throw new FormatException($"Not a Kafka sink epoch of version {Version}.");
        }

        var count = BinaryPrimitives.ReadInt32LittleEndian(handle.AsSpan(1));
        var rawLength = BinaryPrimitives.ReadInt32LittleEndian(handle.AsSpan(5));
        var raw = new byte[rawLength];
        using (var zlib = new ZLibStream(new MemoryStream(handle, HeaderLength, handle.Length - HeaderLength), CompressionMode.Decompress))
        {
            zlib.ReadExactly(raw);
        }

        return new KafkaEpochRecords(raw, count);
    }
}

/// <summary>Decoded records of one epoch; <see cref="TryRead"/> walks them.</summary>
internal sealed class KafkaEpochRecords(byte[] raw, int count)
{
    private int _offset;

    public int Count { get; } = count;

    public bool TryRead(out string? key, out long timestamp, out byte[] value)
    {
        if (_offset >= raw.Length)
        {
            key = null;
            timestamp = 0;
            value = [];
            return false;
        }

        var span = raw.AsSpan(_offset);
        var keyLength = BinaryPrimitives.ReadInt32LittleEndian(span);
        var keyBytes = Math.Max(0, keyLength);
        key = keyLength < 0 ? null : Encoding.UTF8.GetString(span.Slice(4, keyLength));
        timestamp = BinaryPrimitives.ReadInt64LittleEndian(span[(4 + keyBytes)..]);
        var valueLength = BinaryPrimitives.ReadInt32LittleEndian(span[(12 + keyBytes)..]);
        value = span.Slice(16 + keyBytes, valueLength).ToArray();
        _offset += 16 + keyBytes + valueLength;
        return true;
    }
}
