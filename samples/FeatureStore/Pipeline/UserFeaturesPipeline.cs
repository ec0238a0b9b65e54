using System.Numerics;
using Sluice;
using Sluice.Time;
using Sluice.Windows;

namespace FeatureStore;

/// <summary>
/// Per-user features over three event-time windows of the clickstream, each kept queryable by user: the latest closed
/// 1-minute window (<see cref="OneMinute"/>), and the last 10 minutes and the last hour, sliding every minute
/// (<see cref="TenMinutes"/>, <see cref="OneHour"/>). A window with no clicks of a user emits nothing, so a user's
/// stored features may be for an earlier window: readers compare <see cref="UserFeatures.WindowEnd"/> with the watermark.
/// </summary>
public static class UserFeaturesPipeline
{
    public const string Id = "user-features";

    public static readonly FeatureWindow OneMinute = new("features-1m", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));

    public static readonly FeatureWindow TenMinutes = new("features-10m", TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(1));

    public static readonly FeatureWindow OneHour = new("features-1h", TimeSpan.FromHours(1), TimeSpan.FromMinutes(1));

    public static IReadOnlyList<FeatureWindow> Windows { get; } = [OneMinute, TenMinutes, OneHour];

    /// <param name="clicks">The clickstream (e.g. <see cref="ClickStream.Source"/>).</param>
    /// <param name="maxOutOfOrderness">How late a click can be; the demo's generator jitters up to 2 s.</param>
    /// <param name="maxParallelism">Key groups per keyed stage.</param>
    /// <param name="configure">Further pipeline options (checkpoints, ...).</param>
    public static Pipeline Create(
        Sluice.Sources.SourceDefinition<Click> clicks, TimeSpan maxOutOfOrderness, int maxParallelism = 32, Action<PipelineOptions>? configure = null)
    {
        var pipeline = Pipeline.Create(Id, o =>
        {
            o.MaxParallelism = maxParallelism;
            configure?.Invoke(o);
        });
        var byUser = pipeline.From(clicks)
            .WithTimestamps(c => c.Timestamp, WatermarkStrategy.BoundedOutOfOrderness(maxOutOfOrderness).WithIdleness(TimeSpan.FromSeconds(10)))
            .KeyBy(c => c.UserId);
        foreach (var window in Windows)
        {
            WindowAssigner assigner = window.Size == window.Slide ? Tumbling.Of(window.Size) : Sliding.Of(window.Size, window.Slide);
            byUser.Window(assigner)
                .Aggregate(
                    FeatureAggregate.Instance,
                    (user, w, acc) => new UserFeatures(user, w.End, acc.Clicks, acc.Checkouts, BitOperations.PopCount((uint)acc.Pages)),
                    $"features-{window.Name}")
                .KeyBy(f => f.UserId)
                .AsQueryableState(window.Name);
        }

        return pipeline;
    }
}

/// <summary>A feature window: its queryable state name, its size and how often it slides (equal for tumbling windows).</summary>
public sealed record FeatureWindow(string Name, TimeSpan Size, TimeSpan Slide)
{
    /// <summary>
    /// The end of the newest window closed at <paramref name="watermark"/>: a window [end - size, end) has fired once the
    /// watermark reaches end - 1. Window ends are multiples of the slide (epoch-aligned, as Sluice assigns them).
    /// </summary>
    public long LatestClosedEnd(long watermark)
    {
        var slide = (long)Slide.TotalMilliseconds;
        return Math.DivRem(watermark + 1, slide) is var (q, r) && r < 0 ? (q - 1) * slide : q * slide;
    }
}
