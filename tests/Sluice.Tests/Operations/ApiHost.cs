using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sluice.AspNetCore;
using Sluice.Hosting;
using Sluice.Storage;
using Sluice.Tests.Hosting;

namespace Sluice.Tests.Operations;

/// <summary>
/// An ASP.NET app in the test process hosting a single silo with the given pipelines, checkpointing to a folder, and
/// serving the admin API, the health endpoints and the OpenAPI document over real HTTP, the way a user's app does.
/// </summary>
internal sealed class ApiHost : IAsyncDisposable
{
    public const string Key = "ops-test-key";

    private readonly WebApplication _app;

    private ApiHost(WebApplication app, Uri address)
    {
        _app = app;
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        Http.DefaultRequestHeaders.Add("X-Api-Key", Key);
        Anonymous = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>Calls with the API key.</summary>
    public HttpClient Http { get; }

    /// <summary>Calls without a key.</summary>
    public HttpClient Anonymous { get; }

    public static WebApplication Build(string checkpoints, IEnumerable<Pipeline> pipelines, string environment, string? apiKey, out Uri address)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = environment, ContentRootPath = AppContext.BaseDirectory });
        var port = HostProcess.FreePort();
        address = new Uri($"http://127.0.0.1:{port}");
        builder.WebHost.UseUrls(address.ToString());
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var clusterId = $"ops-{Guid.NewGuid():N}";
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(HostProcess.FreePort(), HostProcess.FreePort(), serviceId: clusterId, clusterId: clusterId)
            .AddSluice());
        foreach (var pipeline in pipelines)
        {
            builder.Services.AddSluicePipeline(() => pipeline);
        }

        builder.Services.AddSluiceCheckpointStorage(o =>
        {
            o.Kind = CheckpointStoreKinds.FileSystem;
            o.FileSystem.Root = checkpoints;
        });
        builder.Services.AddSluiceApi(o => o.ApiKey = apiKey);
        builder.Services.AddOpenApi();

        var app = builder.Build();
        app.MapSluiceApi();
        app.MapSluiceHealthChecks();
        app.MapOpenApi();
        return app;
    }

    public static async Task<ApiHost> StartAsync(string checkpoints, params Pipeline[] pipelines)
    {
        var app = Build(checkpoints, pipelines, Environments.Production, Key, out var address);
        await app.StartAsync();
        return new ApiHost(app, address);
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    public async Task<(int Status, string Body)> PostAsync(string path, object? body = null)
    {
        using var response = body is null ? await Http.PostAsync(path, content: null) : await Http.PostAsJsonAsync(path, body);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Polls <paramref name="path"/> until <paramref name="condition"/> holds of its JSON; the last answer is in the timeout's message.</summary>
    public async Task<JsonElement> WaitForAsync(string path, Func<JsonElement, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonElement last = default;
        while (DateTime.UtcNow < deadline)
        {
            last = await GetJsonAsync(path);
            if (condition(last))
            {
                return last;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{what} did not happen within {timeout}; last answer of {path}: {last}");
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Anonymous.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
