using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Sluice.State.Snapshots;

/// <summary>
/// The frame around every state snapshot blob: magic, frame version, the state's schema description,
/// payload length and an XxHash64 of the payload. A truncated or corrupted blob is detected before any byte
/// of state is deserialised, and a snapshot of another schema is refused with both schemas in the message.
/// </summary>
internal static class SnapshotEnvelope
{
    private const uint Magic = 0x4B4C4C53; // "SLLK" little-endian
    private const ushort FrameVersion = 1;

    public static byte[] Wrap(string schema, ReadOnlySpan<byte> payload)
    {
        var schemaBytes = Encoding.UTF8.GetBytes(schema);
        var blob = new byte[4 + 2 + 4 + schemaBytes.Length + 8 + 8 + payload.Length];
        var span = blob.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(span[4..], FrameVersion);
        BinaryPrimitives.WriteInt32LittleEndian(span[6..], schemaBytes.Length);
        schemaBytes.CopyTo(span[10..]);
        var offset = 10 + schemaBytes.Length;
        BinaryPrimitives.WriteInt64LittleEndian(span[offset..], payload.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(span[(offset + 8)..], XxHash64.HashToUInt64(payload));
        payload.CopyTo(span[(offset + 16)..]);
        return blob;
    }

    /// <summary>The schema a blob's frame names, or null when it is not a readable frame (for readers of several schemas).</summary>
    public static string? SchemaOf(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < 10 || BinaryPrimitives.ReadUInt32LittleEndian(blob) != Magic || BinaryPrimitives.ReadUInt16LittleEndian(blob[4..]) != FrameVersion)
        {
            return null;
        }

        var schemaLength = BinaryPrimitives.ReadInt32LittleEndian(blob[6..]);
        return schemaLength < 0 || 10 + schemaLength > blob.Length ? null : Encoding.UTF8.GetString(blob.Slice(10, schemaLength));
    }

    /// <summary>Checks the frame and returns the payload.</summary>
    /// <exception cref="SnapshotCorruptedException">Truncated, wrong magic, or checksum mismatch.</exception>
    /// <exception cref="SnapshotSchemaMismatchException">Written for another state schema.</exception>
    public static ReadOnlyMemory<byte> Unwrap(ReadOnlyMemory<byte> blob, string expectedSchema, string what)
    {
        var span = blob.Span;
        if (span.Length < 10 || BinaryPrimitives.ReadUInt32LittleEndian(span) != Magic)
        {
            throw new SnapshotCorruptedException($"{what}: not a Sluice snapshot (bad header, {span.Length} bytes).");
        }

        var frame = BinaryPrimitives.ReadUInt16LittleEndian(span[4..]);
        if (frame != FrameVersion)
        {
            throw new SnapshotSchemaMismatchException($"{what}: snapshot frame version {frame} is not readable by this build (it reads version {FrameVersion}).");
        }

        var schemaLength = BinaryPrimitives.ReadInt32LittleEndian(span[6..]);
        if (schemaLength < 0 || 10 + schemaLength + 16 > span.Length)
        {
            throw new SnapshotCorruptedException($"{what}: snapshot is truncated (header claims a {schemaLength}-byte schema in {span.Length} bytes).");
        }

        var schema = Encoding.UTF8.GetString(span.Slice(10, schemaLength));
        var offset = 10 + schemaLength;
        var length = BinaryPrimitives.ReadInt64LittleEndian(span[offset..]);
        var checksum = BinaryPrimitives.ReadUInt64LittleEndian(span[(offset + 8)..]);
        var payloadStart = offset + 16;
        if (length < 0 || payloadStart + length != span.Length)
        {
            throw new SnapshotCorruptedException($"{what}: snapshot is truncated or padded ({span.Length - payloadStart} payload bytes, header says {length}).");
        }

        var payload = blob.Slice(payloadStart, (int)length);
        if (XxHash64.HashToUInt64(payload.Span) != checksum)
        {
            throw new SnapshotCorruptedException($"{what}: snapshot checksum does not match its content.");
        }

        if (!string.Equals(schema, expectedSchema, StringComparison.Ordinal))
        {
            throw new SnapshotSchemaMismatchException(
                $"{what}: the snapshot holds state of schema '{schema}' but this build's operator has schema '{expectedSchema}'. " +
                "Restore it with the build that wrote it, or start the pipeline without this state.");
        }

        return payload;
    }
}

/// <summary>A snapshot blob that is truncated or whose content does not match its checksum.</summary>
public sealed class SnapshotCorruptedException(string message) : Exception(message);

/// <summary>A snapshot written for a different state schema than the running operator's.</summary>
public sealed class SnapshotSchemaMismatchException(string message) : Exception(message);
