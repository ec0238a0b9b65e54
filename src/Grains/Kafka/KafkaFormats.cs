using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Confluent.Kafka;

namespace Sluice.Kafka;

/// <summary>
/// Record formats for Kafka sources and sinks. Any Confluent <see cref="IDeserializer{T}"/>/<see cref="ISerializer{T}"/>
/// plugs in (Avro or Protobuf through Confluent's schema-registry serdes, wrapped with AsSyncOverAsync).
/// </summary>
public static class KafkaFormats
{
    /// <summary>JSON through System.Text.Json source-generated metadata (no reflection).</summary>
    public static JsonFormat<T> Json<T>(JsonTypeInfo<T> typeInfo) => new(typeInfo);

    /// <summary>The raw value bytes.</summary>
    public static IDeserializer<byte[]> Raw => Deserializers.ByteArray;

    /// <summary>Names usable in configuration ("json", "raw"), so a typo fails at start.</summary>
    public static IReadOnlyList<string> Names { get; } = ["json", "raw"];

    /// <summary>Checks a configured format name.</summary>
    public static string Validate(string? name, string setting) =>
        name is not null && Names.Contains(name.ToLowerInvariant())
            ? name.ToLowerInvariant()
            : throw new KafkaConfigurationException($"Unknown Kafka format '{name}' in {setting}; use one of: {string.Join(", ", Names)}.");
}

/// <summary>JSON values; a null or malformed value throws, which sends the record to the dead-letter topic.</summary>
public sealed class JsonFormat<T>(JsonTypeInfo<T> typeInfo) : IDeserializer<T>, ISerializer<T>
{
    public T Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context) =>
        isNull
            ? throw new FormatException("The record has no value.")
            : JsonSerializer.Deserialize(data, typeInfo) ?? throw new FormatException("The record's JSON value is null.");

    public byte[] Serialize(T data, SerializationContext context) => JsonSerializer.SerializeToUtf8Bytes(data, typeInfo);
}
