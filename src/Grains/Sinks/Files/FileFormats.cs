using System.Text.Json.Serialization.Metadata;

namespace Sluice.Sinks.Files;

/// <summary>The part file formats of <see cref="FileSink{T}"/>.</summary>
public static class FileFormats
{
    /// <summary>
    /// JSON Lines (<c>.jsonl</c>) through System.Text.Json source-generated metadata, e.g.
    /// <c>FileFormats.JsonLines(MyJsonContext.Default.MyRecord)</c>.
    /// </summary>
    public static JsonLinesFormat<T> JsonLines<T>(JsonTypeInfo<T> typeInfo) => new(typeInfo);

    /// <summary>
    /// Apache Parquet (<c>.parquet</c>), one row group per part file, columns from <typeparamref name="T"/>'s public
    /// properties. Throws <see cref="NotSupportedException"/> if Parquet.Net cannot map the type.
    /// </summary>
    public static ParquetFormat<T> Parquet<T>()
        where T : class, new() => new();
}
