using System.Text.Json.Serialization;
using Sluice.Tests.Properties;

namespace Sluice.Tests.Sinks.Files;

/// <summary>A JSON Lines record; its text may hold line breaks and non-ASCII characters.</summary>
public sealed record LogLine(int Id, string Text);

/// <summary>A JSON Lines record whose serialization throws when <see cref="Fail"/> is set, after its padding is written.</summary>
public sealed class FlakyLine
{
    public int Id { get; init; }

    /// <summary>Written before <see cref="Checked"/>, so a failing record already has bytes in the buffer.</summary>
    public string Padding { get; init; } = string.Empty;

    [JsonIgnore]
    public bool Fail { get; init; }

    public string Checked => Fail ? throw new InvalidOperationException($"record {Id} cannot be serialized") : "ok";
}

/// <summary>A Parquet record with the column types the sink must round-trip.</summary>
public sealed class SensorReading
{
    public string Sensor { get; set; } = string.Empty;

    public long Sequence { get; set; }

    public int Level { get; set; }

    public DateTime At { get; set; }

    public double? Value { get; set; }

    public string? Note { get; set; }

    public override bool Equals(object? obj) =>
        obj is SensorReading o && o.Sensor == Sensor && o.Sequence == Sequence && o.Level == Level && o.At == At && o.Value == Value && o.Note == Note;

    public override int GetHashCode() => HashCode.Combine(Sensor, Sequence, Level, At, Value, Note);

    public override string ToString() => $"({Sensor} #{Sequence} level {Level} at {At:O} value {Value} note {Note})";

    /// <summary>Readings with millisecond timestamps (what Parquet keeps) and some null columns.</summary>
    public static List<SensorReading> Make(int count, int seed)
    {
        var random = new Random(seed);
        var start = new DateTime(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc);
        return Enumerable.Range(0, count).Select(i => new SensorReading
        {
            Sensor = $"sensor-{random.Next(5)}-ü",
            Sequence = long.MaxValue - i,
            Level = random.Next(int.MinValue, int.MaxValue),
            At = start.AddMilliseconds(random.Next(0, 86_400_000)),
            Value = i % 3 == 0 ? null : random.NextDouble() * 1000,
            Note = i % 4 == 0 ? null : $"note {i}",
        }).ToList();
    }
}

/// <summary>Unsupported by Parquet.Net: an object-keyed dictionary has no columns.</summary>
public sealed class NotParquet
{
    public Dictionary<object, Stream> Handles { get; set; } = [];
}

[JsonSerializable(typeof(LogLine))]
[JsonSerializable(typeof(FlakyLine))]
[JsonSerializable(typeof(WindowResult))]
internal sealed partial class FileSinkJson : JsonSerializerContext;

/// <summary>Indented output: the sink must still write one record per line.</summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(LogLine))]
internal sealed partial class IndentedFileSinkJson : JsonSerializerContext;
