using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Sluice.AspNetCore;
using Sluice.Pipelines;
using Sluice.Sources;

namespace Sluice.Tests.QueryableState;

/// <summary><c>GET /api/pipelines/{id}/state/{name}/{key}</c> of <c>MapSluiceApi</c>, against real silos.</summary>
public sealed class StateQueryHttpTests(QueryClusterFixture fixture) : IClassFixture<QueryClusterFixture>
{
    [Fact]
    public async Task Http_state_query_parses_the_key_answers_value_watermark_and_checkpoint_and_maps_errors_to_status_codes()
    {
        const string id = "query-http";
        var source = new InMemorySource<Reading>("readings", 2);
        var pipeline = Pipeline.Create(id, o =>
        {
            o.MaxParallelism = 8;
            o.CheckpointInterval = TimeSpan.FromMilliseconds(300);
            o.ResumeFromCheckpoint = false;
        });
        pipeline.From(source).KeyBy(r => r.SensorId).AsQueryableState("latest-reading");
        fixture.Cluster.Register(pipeline);
        source.Add(0, new Reading(7, 1.5), 100);
        source.Add(1, new Reading(8, 2.5), 150);
        source.Add(0, new Reading(7, 3.5), 200);
        source.AddWatermark(0, 300);
        source.AddWatermark(1, 300);

        await using var app = await StartApiAsync();
        var http = app.GetTestClient();
        JsonElement body = default;
        await WaitForAsync(async () =>
        {
            var response = await http.GetAsync($"/api/pipelines/{id}/state/latest-reading/7");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
            return body.GetProperty("eventTimeWatermark").ValueKind == JsonValueKind.Number
                && body.GetProperty("eventTimeWatermark").GetInt64() == 300
                && body.GetProperty("lastCompletedCheckpointId").ValueKind == JsonValueKind.Number;
        });

        Assert.True(body.GetProperty("found").GetBoolean());
        Assert.Equal(3.5, body.GetProperty("value").GetProperty("value").GetDouble());
        Assert.Equal(7, body.GetProperty("value").GetProperty("sensorId").GetInt32());
        Assert.Equal("1970-01-01T00:00:00.3+00:00", body.GetProperty("eventTimeWatermarkUtc").GetString());
        Assert.True(body.GetProperty("lastCompletedCheckpointId").GetInt64() > 0);

        var absent = JsonDocument.Parse(await http.GetStringAsync($"/api/pipelines/{id}/state/latest-reading/9")).RootElement;
        Assert.False(absent.GetProperty("found").GetBoolean());

        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync($"/api/pipelines/{id}/state/latest-reading/seven")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/api/pipelines/{id}/state/no-such-state/7")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/pipelines/no-such-pipeline/state/latest-reading/7")).StatusCode);
    }

    /// <summary>The admin API as a host would map it, in a test server, on the test cluster's client and a silo's registry.</summary>
    private async Task<WebApplication> StartApiAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development" }); // no API key: the admin API is open in Development
        builder.WebHost.UseTestServer();
        var silo = (InProcessSiloHandle)fixture.Cluster.Cluster.Primary!;
        builder.Services.AddSingleton<IGrainFactory>(fixture.Cluster.Cluster.Client!);
        builder.Services.AddSingleton(silo.SiloHost.Services.GetRequiredService<PipelineRegistry>());
        builder.Services.AddSluiceApi();
        var app = builder.Build();
        app.MapSluiceApi();
        await app.StartAsync();
        return app;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!await condition())
        {
            cts.Token.ThrowIfCancellationRequested();
            await Task.Delay(50);
        }
    }
}

[GenerateSerializer, Immutable]
public sealed record Reading([property: Id(0)] int SensorId, [property: Id(1)] double Value);
