using Sluice.Queries;

namespace FeatureStore;

/// <summary>
/// <c>GET /features/{userId}</c>: the user's features of the newest closed window of each size, read live from the
/// pipeline's queryable state, with their freshness (now minus the event-time watermark they were read at).
/// </summary>
public static class FeatureEndpoint
{
    public static async Task<IResult> GetAsync(string userId, ISluiceClient sluice, TimeProvider clock, CancellationToken ct)
    {
        var windows = UserFeaturesPipeline.Windows;
        var queries = new Task<StateQueryResult<UserFeatures>>[windows.Count];
        for (var i = 0; i < queries.Length; i++)
        {
            queries[i] = sluice.QueryAsync<string, UserFeatures>(UserFeaturesPipeline.Id, windows[i].Name, userId, ct);
        }

        try
        {
            await Task.WhenAll(queries);
        }
        catch (Exception ex) when (ex is PipelineNotFoundException or QueryableStateNotFoundException or KeyGroupRestoringException)
        {
            return Results.Problem(ex.Message, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Features are not available right now");
        }

        var now = clock.GetUtcNow();
        var result = new Dictionary<string, FeatureValues>(windows.Count);
        for (var i = 0; i < windows.Count; i++)
        {
            result[windows[i].Name] = FeatureValues.From(windows[i], await queries[i], now);
        }

        return Results.Ok(new FeatureResponse(userId, now, result));
    }
}

/// <summary>A user's features per window (keyed by the window's queryable state name), as of <paramref name="AsOf"/>.</summary>
public sealed record FeatureResponse(string UserId, DateTimeOffset AsOf, IReadOnlyDictionary<string, FeatureValues> Windows);

/// <summary>
/// The features of one window [WindowStart, WindowEnd) for one user; zero counts when the user did nothing in it.
/// <paramref name="Watermark"/>: the event time up to which the pipeline had seen every click when it answered (null before
/// any); <paramref name="FreshnessMilliseconds"/>: how far that is behind the app's clock.
/// </summary>
public sealed record FeatureValues(
    long? WindowStart,
    long? WindowEnd,
    long Clicks,
    long Checkouts,
    int DistinctPages,
    long? Watermark,
    long? FreshnessMilliseconds)
{
    public static FeatureValues From(FeatureWindow window, StateQueryResult<UserFeatures> answer, DateTimeOffset now)
    {
        var watermark = answer.EventTimeWatermark;
        long? freshness = watermark is { } w and < long.MaxValue ? now.ToUnixTimeMilliseconds() - w : null;
        var size = (long)window.Size.TotalMilliseconds;

        // The newest window that has closed at the watermark. A user with no clicks in it has no result for it (windows
        // without records emit nothing), so the stored features are older: the answer is then zero for that window. The
        // stored ones can also be newer: a window result may arrive before the watermark that closes it everywhere.
        long? current = watermark is { } wm and < long.MaxValue ? window.LatestClosedEnd(wm) : null;
        if (answer is { Found: true, Value: { } stored } && (current is null || stored.WindowEnd >= current))
        {
            return new FeatureValues(stored.WindowEnd - size, stored.WindowEnd, stored.Clicks, stored.Checkouts, stored.DistinctPages, watermark, freshness);
        }

        return new FeatureValues(current - size, current, 0, 0, 0, watermark, freshness);
    }
}
