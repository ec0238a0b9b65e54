namespace Sluice.QueryableState;

/// <summary>A key group's answer to a live state query: per key whether it has a value and the value, and the task's watermark.</summary>
[GenerateSerializer, Immutable]
internal sealed record KeyGroupQueryAnswer(
    [property: Id(0)] bool[] Found,
    [property: Id(1)] object?[] Values,
    [property: Id(2)] long Watermark);
