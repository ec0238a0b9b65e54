using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Sluice.Tests.Hosting;

/// <summary>
/// samples/OrderTotals is a user's app: it references only Sluice's public projects (no InternalsVisibleTo), defines
/// its pipeline and record types in its own assembly, and hosts the silo and the admin API itself.
/// </summary>
public sealed class SampleAppTests
{
    [Fact]
    public async Task Sample_app_on_the_public_surface_runs_its_own_pipeline_serves_the_api_and_stops_cleanly_on_SIGTERM()
    {
        var apiPort = HostProcess.FreePort();
        var checkpoints = Directory.CreateTempSubdirectory("sluice-sample-checkpoints-").FullName;
        var dll = HostProcess.ProjectOutput(Path.Combine("samples", "OrderTotals"), "OrderTotals");
        await using var app = HostProcess.Start(dll, new Dictionary<string, string>
        {
            ["Urls"] = $"http://127.0.0.1:{apiPort}",
            ["Orleans__SiloPort"] = HostProcess.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Orleans__GatewayPort"] = HostProcess.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Orleans__ClusterId"] = $"sample-{Guid.NewGuid():N}",
            ["Checkpoints__FileSystem__Root"] = checkpoints,
            ["Sluice__Api__ApiKey"] = "sample-key",
        });
        try
        {
            // Sums per customer per 10 s window, worked out by hand from the sample's eight orders.
            string[] expected =
            [
                "total alice window=0 amount=12", "total bob window=0 amount=7", "total carol window=0 amount=9",
                "total alice window=10000 amount=2", "total bob window=10000 amount=1", "total carol window=10000 amount=1",
            ];
            await app.WaitForAsync(lines => expected.All(lines.Contains), TimeSpan.FromSeconds(90), "The sample's totals");
            Assert.Equal(expected.Length, app.Lines.Count(l => l.StartsWith("total ", StringComparison.Ordinal)));

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}") };
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/pipelines/order-totals")).StatusCode);
            http.DefaultRequestHeaders.Add("X-Api-Key", "sample-key");
            using var pipeline = JsonDocument.Parse(await http.GetStringAsync("/api/pipelines/order-totals"));
            Assert.Equal("order-totals", pipeline.RootElement.GetProperty("id").GetString());

            await app.TerminateAsync();
            Assert.True(await app.WaitForExitAsync(TimeSpan.FromSeconds(60)), "The sample did not exit after SIGTERM:\n" + app.Tail());
            Assert.Equal(0, app.ExitCode);
            Assert.True(app.ErrorLines().Count == 0, "Error-level lines:\n" + string.Join('\n', app.ErrorLines().Take(20)));
        }
        finally
        {
            Directory.Delete(checkpoints, recursive: true);
        }
    }
}
