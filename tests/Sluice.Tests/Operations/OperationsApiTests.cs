using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Sluice.Grains;
using Sluice.Sinks;
using Sluice.Tests.Properties;
using Sluice.Tests.Recovery;
using Xunit.Abstractions;

namespace Sluice.Tests.Operations;

/// <summary>
/// The operations API as an operator uses it over HTTP, against a silo hosted by an ASP.NET app: details, health,
/// the API key, the OpenAPI document and the commands that stop and start a pipeline.
/// </summary>
public sealed class OperationsApiTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-ops-").FullName;

    [Fact]
    public async Task Api_calls_without_the_key_or_with_a_wrong_one_are_401_while_health_and_the_openapi_document_stay_open()
    {
        var input = new OutOfOrderEventFeed(seed: 21, partitions: 2);
        await using var host = await ApiHost.StartAsync(_root, RecoveryScenario.Define("keyed", input.Source, new CollectingSink<WindowResult>("out")));

        foreach (var path in new[] { "/api/pipelines", "/api/pipelines/keyed", "/api/pipelines/keyed/details", "/api/pipelines/keyed/restarts", "/api/pipelines/keyed/checkpoints" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await host.Anonymous.GetAsync(path)).StatusCode);
            using var wrong = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { { "X-Api-Key", ApiHost.Key + "x" } } };
            Assert.Equal(HttpStatusCode.Unauthorized, (await host.Anonymous.SendAsync(wrong)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await host.Http.GetAsync(path)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Anonymous.PostAsync("/api/pipelines/keyed/cancel", null)).StatusCode);
        var status = await host.GetJsonAsync("/api/pipelines/keyed");
        Assert.NotEqual("Stopped", status.GetProperty("status").GetString());

        Assert.Equal(HttpStatusCode.OK, (await host.Anonymous.GetAsync("/health/live")).StatusCode);
        var ready = await host.Anonymous.GetAsync("/health/ready");
        Assert.NotEqual(HttpStatusCode.Unauthorized, ready.StatusCode);

        using var openApi = JsonDocument.Parse(await host.Anonymous.GetStringAsync("/openapi/v1.json"));
        var paths = openApi.RootElement.GetProperty("paths");
        foreach (var path in new[] { "/api/pipelines/{id}/details", "/api/pipelines/{id}/stop", "/api/pipelines/{id}/start", "/api/pipelines/{id}/cancel", "/api/pipelines/{id}/restarts", "/api/pipelines/{id}/savepoints" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is missing from the OpenAPI document");
        }

        Assert.Equal("GetPipelineDetails", paths.GetProperty("/api/pipelines/{id}/details").GetProperty("get").GetProperty("operationId").GetString());
    }

    [Fact]
    public async Task Outside_Development_a_host_without_an_api_key_refuses_to_start_naming_the_setting_and_in_Development_the_api_is_open()
    {
        var input = new OutOfOrderEventFeed(seed: 22, partitions: 1);
        var pipeline = RecoveryScenario.Define("open", input.Source, new CollectingSink<WindowResult>("out"));
        await using (var production = ApiHost.Build(_root, [pipeline], Environments.Production, apiKey: null, out _))
        {
            var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => production.StartAsync());
            output.WriteLine(refused.Message);
            Assert.Contains("Sluice:Api:ApiKey is not set", refused.Message, StringComparison.Ordinal);
        }

        await using var development = ApiHost.Build(_root, [pipeline], Environments.Development, apiKey: null, out var address);
        await development.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = address };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/pipelines/open")).StatusCode);
        }
        finally
        {
            await development.StopAsync();
        }
    }

    [Fact]
    public async Task Details_show_stage_throughput_watermark_lag_backpressure_consumer_lag_the_first_attempt_and_checkpoints()
    {
        var input = new OutOfOrderEventFeed(seed: 23, partitions: 3);
        var sink = new CommittingSink<WindowResult>("committed");
        await using var host = await ApiHost.StartAsync(_root, RecoveryScenario.Define("detailed", input.Source, sink, o => o.MaxQueuedBatchesPerChannel = 1));
        input.Append(rounds: 5);
        await host.WaitForAsync("/api/pipelines/detailed/details", d => d.GetProperty("lastCompletedCheckpoint").ValueKind == JsonValueKind.Object, TimeSpan.FromSeconds(60), "a completed checkpoint");

        // The sink stalls once for two seconds: the windows stage waits on its full channel into the sink.
        sink.BlockNextWrite(TimeSpan.FromSeconds(2));
        var requestedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var details = await WaitWhileAppendingAsync(host, input, d =>
            Stage(d, "sums").GetProperty("backpressureMilliseconds").GetInt64() > 0
            && Stage(d, "sums").GetProperty("recordsInPerSecond").GetDouble() > 0
            && d.GetProperty("recordsInPerSecond").GetDouble() > 0);
        output.WriteLine(details.ToString());

        var sums = Stage(details, "sums");
        Assert.Equal(8, sums.GetProperty("parallelism").GetInt32());
        Assert.True(sums.GetProperty("recordsIn").GetInt64() > 0);
        Assert.True(sums.GetProperty("watermark").GetInt64() > 0);
        // Watermark lag is the wall clock (when the details were computed, before this line) minus the stage's watermark.
        Assert.InRange(
            sums.GetProperty("watermarkLagMilliseconds").GetInt64() + sums.GetProperty("watermark").GetInt64(),
            requestedAt, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.Equal(3, details.GetProperty("sources").GetArrayLength());
        foreach (var partition in details.GetProperty("sources").EnumerateArray())
        {
            Assert.True(partition.GetProperty("consumerLag").GetInt64() >= 0);
            Assert.True(partition.GetProperty("recordsRead").GetInt64() > 0);
        }

        var attempt = Assert.Single(details.GetProperty("attempts").EnumerateArray());
        Assert.Equal(1, attempt.GetProperty("attempt").GetInt64());
        Assert.Equal("pipeline started", attempt.GetProperty("reason").GetString());
        Assert.Contains(details.GetProperty("checkpoints").EnumerateArray(), c => c.GetProperty("state").GetString() == "Completed");
    }

    [Fact]
    public async Task Readiness_is_ready_while_the_pipeline_runs_and_checkpoints_and_not_ready_once_it_FAILED()
    {
        var input = new OutOfOrderEventFeed(seed: 24, partitions: 2);
        var sink = new CommittingSink<WindowResult>("committed");
        await using var host = await ApiHost.StartAsync(_root, RecoveryScenario.Define("fragile", input.Source, sink, o => o.Restart.MaxRestarts = 0));
        await WaitForReadyAsync(host, input, HttpStatusCode.OK, "ready");

        // Not ready because it FAILED: on a loaded machine a stalled checkpoint can make it not ready (stale) for a moment
        // before that, which is right too but not what this test is after.
        sink.FailNextPrepare();
        var body = await WaitForReadyAsync(host, input, HttpStatusCode.ServiceUnavailable, "not ready", mustContain: "fragile: FAILED");
        output.WriteLine(body);
        using var report = JsonDocument.Parse(body);
        Assert.Equal("Unhealthy", report.RootElement.GetProperty("status").GetString());
        var check = report.RootElement.GetProperty("checks").GetProperty("sluice-pipelines");
        Assert.Contains("fragile: FAILED", check.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await host.Anonymous.GetAsync("/health/live")).StatusCode);
        Assert.Equal("Failed", (await host.GetJsonAsync("/api/pipelines/fragile")).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Stop_with_savepoint_then_start_from_it_and_cancel_then_start_over_http_commit_exactly_the_oracles_output()
    {
        var input = new OutOfOrderEventFeed(seed: 25, partitions: 3);
        var sink = new CommittingSink<WindowResult>("committed", parallelism: 2);
        await using var host = await ApiHost.StartAsync(_root, RecoveryScenario.Define("upgraded", input.Source, sink));
        await WaitWhileAppendingAsync(host, input, d => d.GetProperty("checkpoints").EnumerateArray().Count(c => c.GetProperty("state").GetString() == "Completed") >= 2);

        Assert.Equal(409, (await host.PostAsync("/api/pipelines/upgraded/start", new { savepoint = (string?)null })).Status);
        Assert.Equal(400, (await host.PostAsync("/api/pipelines/upgraded/stop", new { savepoint = "not a name" })).Status);
        var (stop, said) = await host.PostAsync("/api/pipelines/upgraded/stop", new { savepoint = "before-upgrade" });
        Assert.True(stop == 202, said);
        var stopped = await host.WaitForAsync("/api/pipelines/upgraded", s => s.GetProperty("status").GetString() == "Stopped", TimeSpan.FromSeconds(60), "stopped with a savepoint");
        Assert.Equal("stopped with savepoint 'before-upgrade'", stopped.GetProperty("recovery").GetProperty("stopReason").GetString());
        var savepoints = await host.GetJsonAsync("/api/pipelines/upgraded/savepoints");
        var savepoint = savepoints.EnumerateArray().Single(s => s.GetProperty("name").GetString() == "before-upgrade");
        Assert.Equal("Completed", savepoint.GetProperty("state").GetString());

        // Stopped: what arrives now is not read until the pipeline runs again (reports of earlier reads settle first).
        await Task.Delay(TimeSpan.FromSeconds(2));
        var readWhenStopped = (await host.GetJsonAsync("/api/pipelines/upgraded")).GetProperty("recordsIn").GetInt64();
        input.Append(rounds: 10);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(readWhenStopped, (await host.GetJsonAsync("/api/pipelines/upgraded")).GetProperty("recordsIn").GetInt64());
        Assert.Equal(404, (await host.PostAsync("/api/pipelines/upgraded/start", new { savepoint = "nowhere" })).Status);

        var (start, started) = await host.PostAsync("/api/pipelines/upgraded/start", new { savepoint = "before-upgrade" });
        Assert.True(start == 202, started);
        var restored = (await host.GetJsonAsync("/api/pipelines/upgraded")).GetProperty("recovery").GetProperty("restoredFrom").GetInt64();
        Assert.Equal(savepoint.GetProperty("checkpointId").GetInt64(), restored);
        await WaitWhileAppendingAsync(host, input, d => d.GetProperty("status").GetString() == "Running"
            && d.GetProperty("checkpoints").EnumerateArray().Any(c => c.GetProperty("state").GetString() == "Completed"
                && c.GetProperty("id").GetInt64() > d.GetProperty("recovery").GetProperty("restoredFrom").GetInt64()));

        // Cancel (no savepoint), then start again from the newest checkpoint.
        var (cancel, canceled) = await host.PostAsync("/api/pipelines/upgraded/cancel");
        Assert.True(cancel == 202, canceled);
        await host.WaitForAsync("/api/pipelines/upgraded", s => s.GetProperty("status").GetString() == "Stopped", TimeSpan.FromSeconds(30), "canceled");
        Assert.Equal(409, (await host.PostAsync("/api/pipelines/upgraded/cancel")).Status);
        input.Append(rounds: 5);
        Assert.Equal(202, (await host.PostAsync("/api/pipelines/upgraded/start", new { })).Status);

        input.Append(rounds: 10);
        input.Source.CompleteAll();
        var expected = input.Oracle();
        await RecoveryScenario.WaitForAsync(() => sink.Committed().Count >= expected.Count, TimeSpan.FromSeconds(90), $"{expected.Count} committed window results");
        RecoveryScenario.AssertEqualsOracleExactly(expected, sink.Committed(), output);

        var attempts = (await host.GetJsonAsync("/api/pipelines/upgraded/restarts")).EnumerateArray().Select(a => a.GetProperty("reason").GetString()).ToList();
        output.WriteLine(string.Join('\n', attempts));
        Assert.Equal(["pipeline started", "started by an operator from savepoint 'before-upgrade'", "started by an operator"], attempts);
    }

    private static JsonElement Stage(JsonElement details, string name) =>
        details.GetProperty("stages").EnumerateArray().Single(s => s.GetProperty("name").GetString()!.Contains(name, StringComparison.Ordinal));

    /// <summary>Feeds a round of input every 100 ms until the pipeline's details satisfy <paramref name="condition"/>.</summary>
    private static async Task<JsonElement> WaitWhileAppendingAsync(ApiHost host, OutOfOrderEventFeed input, Func<JsonElement, bool> condition)
    {
        JsonElement last = default;
        var pipeline = "";
        for (var i = 0; i < 600; i++)
        {
            using (var list = JsonDocument.Parse(await host.Http.GetStringAsync("/api/pipelines")))
            {
                pipeline = list.RootElement[0].GetProperty("id").GetString()!;
            }

            last = await host.GetJsonAsync($"/api/pipelines/{pipeline}/details");
            if (condition(last))
            {
                return last;
            }

            input.Append(rounds: 1);
            await Task.Delay(100);
        }

        throw new TimeoutException($"The details of {pipeline} did not get there within 60 s; last: {last}");
    }

    private static async Task<string> WaitForReadyAsync(ApiHost host, OutOfOrderEventFeed input, HttpStatusCode expected, string what, string? mustContain = null)
    {
        var last = "";
        for (var i = 0; i < 600; i++)
        {
            using var response = await host.Anonymous.GetAsync("/health/ready");
            var body = await response.Content.ReadAsStringAsync();
            last = $"{(int)response.StatusCode} {body}";
            if (response.StatusCode == expected && (mustContain is null || body.Contains(mustContain, StringComparison.Ordinal)))
            {
                return body;
            }

            input.Append(rounds: 1);
            await Task.Delay(100);
        }

        throw new TimeoutException($"/health/ready did not answer {what} within 60 s; last: {last}");
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
