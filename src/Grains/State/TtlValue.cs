namespace Sluice.State;

/// <summary>An element of a list or map state with its own expiry (<see cref="long.MaxValue"/>: never).</summary>
[GenerateSerializer]
internal struct TtlValue<T>(T value, long expiry)
{
    [Id(0)] public T Value = value;

    [Id(1)] public long Expiry = expiry;
}
