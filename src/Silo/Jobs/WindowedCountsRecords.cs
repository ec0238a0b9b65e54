using System.Text.Json.Serialization;

namespace Sluice.Silo.Jobs;

/// <summary>One input event of the windowed-counts job, as JSON on the input topic: <c>{"id":1,"key":"k-7","ts":1700000000000}</c>.</summary>
[GenerateSerializer, Immutable]
internal sealed record CountedEvent(
    [property: Id(0), JsonPropertyName("id")] long Id,
    [property: Id(1), JsonPropertyName("key")] string Key,
    [property: Id(2), JsonPropertyName("ts")] long Timestamp);

/// <summary>Events of one key in one event-time window <c>[WindowStart, WindowEnd)</c>; one JSON line of the output.</summary>
[GenerateSerializer, Immutable]
internal sealed record WindowCount(
    [property: Id(0), JsonPropertyName("key")] string Key,
    [property: Id(1), JsonPropertyName("windowStart")] long WindowStart,
    [property: Id(2), JsonPropertyName("windowEnd")] long WindowEnd,
    [property: Id(3), JsonPropertyName("count")] long Count);

/// <summary>Source-generated JSON for the job's input and output (no reflection on the hot path).</summary>
[JsonSerializable(typeof(CountedEvent))]
[JsonSerializable(typeof(WindowCount))]
internal sealed partial class WindowedCountsJson : JsonSerializerContext;
