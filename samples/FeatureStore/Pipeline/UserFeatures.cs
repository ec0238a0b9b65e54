using Sluice.Functions;

namespace FeatureStore;

/// <summary>What one user did in one window [WindowEnd - size, WindowEnd): the features a model reads.</summary>
[GenerateSerializer, Immutable]
public sealed record UserFeatures(
    [property: Id(0)] string UserId,
    [property: Id(1)] long WindowEnd,
    [property: Id(2)] long Clicks,
    [property: Id(3)] long Checkouts,
    [property: Id(4)] int DistinctPages);

/// <summary>Running counts of a window: clicks, checkouts and the pages seen (a bit per page of <see cref="ClickStream.Pages"/>).</summary>
[GenerateSerializer, Immutable]
public readonly record struct FeatureAccumulator(
    [property: Id(0)] long Clicks,
    [property: Id(1)] long Checkouts,
    [property: Id(2)] int Pages);

/// <summary>Incremental features per user and window (one accumulator of three numbers per window, whatever the clicks).</summary>
public sealed class FeatureAggregate : IAggregateFunction<Click, FeatureAccumulator, FeatureAccumulator>
{
    public static FeatureAggregate Instance { get; } = new();

    public FeatureAccumulator CreateAccumulator() => default;

    public FeatureAccumulator Add(Click value, FeatureAccumulator accumulator) =>
        new(accumulator.Clicks + 1, accumulator.Checkouts + (value.Page == "/checkout" ? 1 : 0), accumulator.Pages | PageBit(value.Page));

    public FeatureAccumulator GetResult(FeatureAccumulator accumulator) => accumulator;

    public FeatureAccumulator Merge(FeatureAccumulator a, FeatureAccumulator b) => new(a.Clicks + b.Clicks, a.Checkouts + b.Checkouts, a.Pages | b.Pages);

    private static int PageBit(string page)
    {
        var index = Array.IndexOf(ClickStream.Pages, page);
        return index < 0 ? 0 : 1 << index;
    }
}
