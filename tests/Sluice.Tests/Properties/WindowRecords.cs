namespace Sluice.Tests.Properties;

/// <summary>An input record of the window tests: a key, an event time (ms) and a value to sum.</summary>
[GenerateSerializer, Immutable]
public readonly record struct Event(
    [property: Id(0)] string Key,
    [property: Id(1)] long Ts,
    [property: Id(2)] long Value);

/// <summary>One keyed window result: the key, the window <c>[Start, End)</c> and the aggregate (count or sum).</summary>
[GenerateSerializer, Immutable]
public readonly record struct WindowResult(
    [property: Id(0)] string Key,
    [property: Id(1)] long Start,
    [property: Id(2)] long End,
    [property: Id(3)] long Value)
{
    public override string ToString() => $"({Key} [{Start}, {End}) = {Value})";
}

/// <summary>What the window aggregates: the number of records or the sum of their values.</summary>
public enum AggregateKind
{
    Count,
    Sum,
}
