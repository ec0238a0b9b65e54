using System.Runtime.InteropServices;
using Parquet;
using Parquet.Serialization;

namespace Sluice.Sinks.Files;

/// <summary>
/// Apache Parquet through Parquet.Net's <see cref="ParquetSerializer"/>: the columns are <typeparamref name="T"/>'s
/// public properties (Parquet.Net's attributes such as <c>[ParquetIgnore]</c> and <c>[ParquetTimestamp]</c> apply),
/// and each part file holds its epoch as one row group. Parquet is columnar, so the epoch's records are kept as
/// objects and encoded when the epoch is sealed, off the task's thread.
/// </summary>
public sealed class ParquetFormat<T> : FileFormat<T>
    where T : class, new()
{
    internal ParquetFormat()
    {
        // Reflect the schema now, so a type Parquet cannot represent fails when the sink is defined, not at the
        // first checkpoint.
        try
        {
            _ = typeof(T).GetParquetSchema(forWriting: false);
            _ = typeof(T).GetParquetSchema(forWriting: true);
        }
        catch (Exception e)
        {
            throw new NotSupportedException($"{typeof(T).FullName} cannot be written as Parquet: {e.Message}", e);
        }
    }

    public override string Name => "Parquet";

    public override string Extension => ".parquet";

    internal override IEpochEncoder<T> CreateEncoder() => new Encoder();

    internal override async ValueTask<IReadOnlyList<T>> DecodeAsync(ReadOnlyMemory<byte> part, CancellationToken cancellationToken)
    {
        await using var stream = MemoryMarshal.TryGetArray(part, out var array)
            ? new MemoryStream(array.Array!, array.Offset, array.Count, writable: false)
            : new MemoryStream(part.ToArray(), writable: false);
        var result = await ParquetSerializer.DeserializeAsync<T>(stream, options: null, rowGroupIndex: null, cancellationToken);
        return result.Data as IReadOnlyList<T> ?? [.. result.Data];
    }

    private sealed class Encoder : IEpochEncoder<T>
    {
        private List<T> _records = [];

        public int Count => _records.Count;

        public void Write(T value)
        {
            // The one record-level failure the serializer would only find when encoding the whole epoch.
            ArgumentNullException.ThrowIfNull(value);
            _records.Add(value);
        }

        public ISealedEpoch? Seal()
        {
            if (_records.Count == 0)
            {
                return null;
            }

            var records = _records;
            _records = new List<T>(records.Count);
            return new SealedEpoch(records);
        }

        public void Dispose() => _records.Clear();
    }

    private sealed class SealedEpoch(List<T> records) : ISealedEpoch
    {
        private MemoryStream? _file;

        public int Records => records.Count;

        public async ValueTask<ReadOnlyMemory<byte>> EncodeAsync(CancellationToken cancellationToken)
        {
            _file?.Dispose();
            _file = new MemoryStream();
            var options = new ParquetOptions { RowGroupSize = records.Count };
            await ParquetSerializer.SerializeAsync(records, _file, options, customMetadata: null, cancellationToken);
            return _file.GetBuffer().AsMemory(0, (int)_file.Length);
        }

        public void Dispose()
        {
            _file?.Dispose();
            _file = null;
            records.Clear();
        }
    }
}
