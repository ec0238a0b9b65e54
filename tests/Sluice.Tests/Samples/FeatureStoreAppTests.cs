using System.Globalization;
using System.Net;
using System.Numerics;
using System.Text.Json;
using FeatureStore;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Sluice.Sources;
using Sluice.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Sluice.Tests.Samples;

/// <summary>
/// The feature-store lane: the user-features pipeline runs on a real silo over the demo clickstream generator, and
/// samples/FeatureStore (an ASP.NET app on the public client only) serves GET /features/{userId}, built with
/// WebApplicationFactory and connected to the silo through AddSluiceClient's own Orleans client.
/// </summary>
public sealed class FeatureStoreAppTests(ITestOutputHelper output)
{
    private const int Users = 20;
    private static readonly TimeSpan Jitter = TimeSpan.FromSeconds(2);
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Feature_store_app_serves_each_users_window_features_equal_to_an_oracle_of_the_generated_clicks_with_freshness()
    {
        // One click every 2 s of event time over 20 users, event time running 400 times faster than the clock: an hour in 9 s.
        var clicks = ClickStream.Source(new GeneratorSourceOptions
        {
            Partitions = 2,
            KeyCount = Users,
            Seed = (ulong)Random.Shared.Next(),
            RecordsPerSecond = 200,
            EventTimeRecordsPerSecond = 0.5,
            MaxOutOfOrderness = Jitter,
            StartTime = Start,
        });
        output.WriteLine($"seed {clicks.Options.Seed}");
        await using var cluster = await SluiceCluster.StartWithTcpGatewaysAsync(1);
        cluster.Register(UserFeaturesPipeline.Create(clicks, Jitter, maxParallelism: 4));

        await using var factory = new WebApplicationFactory<FeatureResponse>().WithWebHostBuilder(web => web
            .UseSetting("Sluice:Client:GatewayPort", cluster.Cluster.Primary!.GatewayAddress!.Endpoint.Port.ToString(CultureInfo.InvariantCulture))
            .UseSetting("Sluice:Client:ClusterId", cluster.Cluster.Options.ClusterId)
            .UseSetting("Sluice:Client:ServiceId", cluster.Cluster.Options.ServiceId));
        using var http = factory.CreateClient();

        // Past the first 70 minutes of event time, every window size has full windows behind the watermark.
        var fullHour = Start.ToUnixTimeMilliseconds() + (long)TimeSpan.FromMinutes(70).TotalMilliseconds;
        await WaitForAsync(async () =>
        {
            var response = await http.GetAsync("/features/user-0");
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return false;
            }

            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            return body.GetProperty("windows").EnumerateObject().All(w => w.Value.GetProperty("watermark") is { ValueKind: JsonValueKind.Number } m && m.GetInt64() > fullHour);
        });

        var oracle = new ClickOracle(clicks);
        var nonZero = new Dictionary<string, int>();
        for (var u = 0; u < Users; u++)
        {
            var user = $"user-{u}";
            var body = JsonDocument.Parse(await http.GetStringAsync($"/features/{user}")).RootElement;
            Assert.Equal(user, body.GetProperty("userId").GetString());
            var asOf = body.GetProperty("asOf").GetDateTimeOffset().ToUnixTimeMilliseconds();
            foreach (var window in UserFeaturesPipeline.Windows)
            {
                var f = body.GetProperty("windows").GetProperty(window.Name);
                var watermark = f.GetProperty("watermark").GetInt64();
                var end = f.GetProperty("windowEnd").GetInt64();
                var size = (long)window.Size.TotalMilliseconds;
                Assert.Equal(end - size, f.GetProperty("windowStart").GetInt64());
                Assert.True(end >= window.LatestClosedEnd(watermark), $"{user} {window.Name}: window ending {end} is older than the newest closed at watermark {watermark}");
                var (expectedClicks, expectedCheckouts, expectedPages) = oracle.Features(user, end - size, end);
                Assert.True(
                    (expectedClicks, expectedCheckouts, expectedPages)
                    == (f.GetProperty("clicks").GetInt64(), f.GetProperty("checkouts").GetInt64(), f.GetProperty("distinctPages").GetInt32()),
                    $"{user} {window.Name} [{end - size}, {end}) at watermark {watermark}: served {f}, oracle clicks={expectedClicks} checkouts={expectedCheckouts} pages={expectedPages}");
                Assert.Equal(asOf - watermark, f.GetProperty("freshnessMilliseconds").GetInt64());
                nonZero[window.Name] = nonZero.GetValueOrDefault(window.Name) + (expectedClicks > 0 ? 1 : 0);
            }
        }

        output.WriteLine($"users with clicks per window: {string.Join(", ", nonZero.Select(p => $"{p.Key}={p.Value}"))}");
        Assert.All(UserFeaturesPipeline.Windows, w => Assert.True(nonZero.GetValueOrDefault(w.Name) > 0, $"no user had clicks in {w.Name}: the check proved little"));
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (!await condition())
        {
            cts.Token.ThrowIfCancellationRequested();
            await Task.Delay(200);
        }
    }

    /// <summary>Recomputes the clickstream from the generator's pure function of (partition, index) and counts by brute force.</summary>
    private sealed class ClickOracle(GeneratorSource<Click> source)
    {
        public (long Clicks, long Checkouts, int Pages) Features(string user, long start, long end)
        {
            long clicks = 0, checkouts = 0;
            var pages = new HashSet<string>();
            var jitter = (long)Jitter.TotalMilliseconds;
            for (var p = 0; p < source.Options.Partitions; p++)
            {
                for (long i = 0; ; i++)
                {
                    var e = source.EventAt(p, i);
                    if (e.Timestamp - jitter > end)
                    {
                        break; // base times only grow: every later click is past the window
                    }

                    var click = ClickStream.ToClick(e);
                    if (click.UserId == user && click.Timestamp >= start && click.Timestamp < end)
                    {
                        clicks++;
                        checkouts += click.Page == "/checkout" ? 1 : 0;
                        pages.Add(click.Page);
                    }
                }
            }

            return (clicks, checkouts, pages.Count);
        }
    }
}
