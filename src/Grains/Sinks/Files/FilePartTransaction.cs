using System.Buffers.Binary;
using System.Text;

namespace Sluice.Sinks.Files;

/// <summary>
/// The transaction handle of one prepared epoch, kept in the sink task's checkpoint state: where the part is staged,
/// the name it gets when committed, and how many records it holds.
/// </summary>
/// <remarks>Layout: version byte, record count (int32 LE), then the two paths as UTF-8, each after its int32 LE length.</remarks>
internal sealed record FilePartTransaction(string StagedPath, string FinalPath, int Records)
{
    private const byte Version = 1;

    public byte[] ToBytes()
    {
        var staged = Encoding.UTF8.GetByteCount(StagedPath);
        var final = Encoding.UTF8.GetByteCount(FinalPath);
        var bytes = new byte[1 + 4 + 4 + staged + 4 + final];
        var span = bytes.AsSpan();
        span[0] = Version;
        BinaryPrimitives.WriteInt32LittleEndian(span[1..], Records);
        var offset = WriteString(span, 5, StagedPath, staged);
        WriteString(span, offset, FinalPath, final);
        return bytes;
    }

    public static FilePartTransaction FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty || bytes[0] != Version)
        {
            throw new FormatException($"Not a file sink transaction of version {Version} (first byte {(bytes.IsEmpty ? "missing" : bytes[0].ToString(System.Globalization.CultureInfo.InvariantCulture))}).");
        }

        if (bytes.Length < 5)
        {
            throw new FormatException("File sink transaction is truncated.");
        }

        var records = BinaryPrimitives.ReadInt32LittleEndian(bytes[1..]);
        var offset = 5;
        var staged = ReadString(bytes, ref offset);
        var final = ReadString(bytes, ref offset);
        if (offset != bytes.Length)
        {
            throw new FormatException($"File sink transaction has {bytes.Length - offset} trailing bytes.");
        }

        return new FilePartTransaction(staged, final, records);
    }

    private static int WriteString(Span<byte> span, int offset, string value, int length)
    {
        BinaryPrimitives.WriteInt32LittleEndian(span[offset..], length);
        Encoding.UTF8.GetBytes(value, span[(offset + 4)..]);
        return offset + 4 + length;
    }

    private static string ReadString(ReadOnlySpan<byte> bytes, ref int offset)
    {
        if (bytes.Length - offset < 4)
        {
            throw new FormatException("File sink transaction is truncated.");
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(bytes[offset..]);
        if (length < 0 || length > bytes.Length - offset - 4)
        {
            throw new FormatException("File sink transaction is truncated.");
        }

        var value = Encoding.UTF8.GetString(bytes.Slice(offset + 4, length));
        offset += 4 + length;
        return value;
    }
}
