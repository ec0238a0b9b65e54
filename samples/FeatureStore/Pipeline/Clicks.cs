using Sluice.Sources;

namespace FeatureStore;

/// <summary>A page view by a user at an event time (epoch milliseconds): the demo's clickstream.</summary>
[GenerateSerializer, Immutable]
public sealed record Click([property: Id(0)] string UserId, [property: Id(1)] string Page, [property: Id(2)] long Timestamp);

/// <summary>The demo clickstream as a seeded generator: the same users, pages and out-of-order jitter as the Sluice demo job.</summary>
public static class ClickStream
{
    public static readonly string[] Pages = ["/", "/search", "/product", "/cart", "/checkout", "/help"];

    public static GeneratorSource<Click> Source(GeneratorSourceOptions options) =>
        new("clicks", options, ToClick);

    /// <summary>The click a generated event stands for; an oracle recomputes the stream with it.</summary>
    public static Click ToClick(GeneratedEvent e) =>
        new($"user-{e.Key}", Pages[(int)(e.Random % (ulong)Pages.Length)], e.Timestamp);
}
