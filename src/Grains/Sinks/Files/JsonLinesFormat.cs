using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Sluice.Sinks.Files;

/// <summary>
/// JSON Lines: one record per line, UTF-8, each line ending with '\n', through System.Text.Json's source-generated
/// metadata (no reflection). Records are always written compact, whatever the type info's options say, so a record
/// is one line.
/// </summary>
public sealed class JsonLinesFormat<T> : FileFormat<T>
{
    private static readonly byte[] NewLine = "\n"u8.ToArray();

    internal JsonLinesFormat(JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        TypeInfo = typeInfo;
        WriterOptions = new JsonWriterOptions
        {
            Encoder = typeInfo.Options.Encoder,
            Indented = false,
            MaxDepth = typeInfo.Options.MaxDepth,
        };
    }

    public override string Name => "JSON Lines";

    public override string Extension => ".jsonl";

    internal JsonTypeInfo<T> TypeInfo { get; }

    internal JsonWriterOptions WriterOptions { get; }

    internal override IEpochEncoder<T> CreateEncoder() => new Encoder(this);

    internal override ValueTask<IReadOnlyList<T>> DecodeAsync(ReadOnlyMemory<byte> part, CancellationToken cancellationToken)
    {
        var records = new List<T>();
        var rest = part.Span;
        var line = 0;
        while (!rest.IsEmpty)
        {
            cancellationToken.ThrowIfCancellationRequested();
            line++;
            var end = rest.IndexOf(NewLine[0]);
            if (end < 0)
            {
                throw new FormatException($"Line {line} of a JSON Lines part file has no line end: the file is incomplete.");
            }

            try
            {
                records.Add(JsonSerializer.Deserialize(rest[..end], TypeInfo)!);
            }
            catch (JsonException e)
            {
                throw new FormatException($"Line {line} of a JSON Lines part file is not a valid {typeof(T).Name}: {e.Message}", e);
            }

            rest = rest[(end + 1)..];
        }

        return ValueTask.FromResult<IReadOnlyList<T>>(records);
    }

    /// <summary>
    /// Serializes each record straight into the epoch's pooled buffer with one reused <see cref="Utf8JsonWriter"/>;
    /// a record that throws is cut off again, so the epoch holds only whole lines.
    /// </summary>
    private sealed class Encoder(JsonLinesFormat<T> format) : IEpochEncoder<T>
    {
        private PooledBufferWriter? _buffer;
        private Utf8JsonWriter? _json;
        private int _lastEpochBytes;

        public int Count { get; private set; }

        public void Write(T value)
        {
            var buffer = _buffer ??= StartEpoch();
            var json = _json!;
            var mark = buffer.WrittenCount;
            try
            {
                JsonSerializer.Serialize(json, value, format.TypeInfo);
                json.Flush();
                json.Reset();
                buffer.Write(NewLine);
            }
            catch
            {
                // Drop what the writer still holds and what it already flushed of this record.
                json.Reset();
                buffer.Truncate(mark);
                throw;
            }

            Count++;
        }

        public ISealedEpoch? Seal()
        {
            if (_buffer is not { } buffer || Count == 0)
            {
                return null;
            }

            var sealedEpoch = new SealedEpoch(buffer, Count);
            _lastEpochBytes = buffer.WrittenCount;
            _buffer = null;
            Count = 0;
            return sealedEpoch;
        }

        public void Dispose()
        {
            _json?.Dispose();
            _json = null;
            _buffer?.Dispose();
            _buffer = null;
            Count = 0;
        }

        private PooledBufferWriter StartEpoch()
        {
            // Size the next epoch's buffer like the last one, so a steady stream does not regrow it every epoch.
            var buffer = new PooledBufferWriter(_lastEpochBytes);
            if (_json is null)
            {
                _json = new Utf8JsonWriter(buffer, format.WriterOptions);
            }
            else
            {
                _json.Reset(buffer);
            }

            return buffer;
        }
    }

    private sealed class SealedEpoch(PooledBufferWriter buffer, int records) : ISealedEpoch
    {
        public int Records => records;

        public ValueTask<ReadOnlyMemory<byte>> EncodeAsync(CancellationToken cancellationToken) => ValueTask.FromResult(buffer.WrittenMemory);

        public void Dispose() => buffer.Dispose();
    }
}
