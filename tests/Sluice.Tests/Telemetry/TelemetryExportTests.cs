using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Sluice.Telemetry;
using Sluice.Tests.Chaos;
using Xunit.Abstractions;

namespace Sluice.Tests.Telemetry;

/// <summary>
/// The export paths a deployment configures (Sluice:Telemetry, as main.bicep sets them): the silo executable running
/// the demo pushes OTLP over HTTP to a listener in the test, at the standard per-signal paths, and serves the
/// Prometheus scrape endpoint.
/// </summary>
public sealed class TelemetryExportTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("http://collector:4318", "http/protobuf", "http://collector:4318/v1/metrics")]
    [InlineData("http://collector:4318/", "http/protobuf", "http://collector:4318/v1/metrics")]
    [InlineData("http://collector:4318/custom/metrics", "http/protobuf", "http://collector:4318/custom/metrics")]
    [InlineData("http://collector:4317", "grpc", "http://collector:4317/")]
    public void An_OTLP_endpoint_is_the_collectors_base_address_and_HTTP_gets_the_signal_path(string configured, string protocol, string expected)
    {
        Assert.Equal(new Uri(expected), SluiceTelemetryExtensions.ResolveOtlpEndpoint(configured, protocol, "v1/metrics"));
    }

    [Fact]
    public async Task The_silo_pushes_OTLP_metrics_and_traces_and_serves_Prometheus_when_configured()
    {
        var port = FreePort();
        using var collector = new HttpListener();
        collector.Prefixes.Add($"http://127.0.0.1:{port}/");
        collector.Start();
        var received = new ConcurrentQueue<(string Path, string ContentType, byte[] Body)>();
        var listening = ReceiveAsync(collector, received);

        var artifacts = Path.Combine(Path.GetTempPath(), "sluice-otlp-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(artifacts);
        await using (var silo = SiloProcess.Start("otlp-silo", artifacts, new Dictionary<string, string>
        {
            ["Sluice__ClusterId"] = $"otlp-{Guid.NewGuid():N}",
            ["Sluice__Demo__Source"] = "generator",
            ["Sluice__Demo__RecordsPerSecond"] = "2000",
            ["Sluice__Demo__CheckpointInterval"] = "00:00:01",
            ["Checkpoints__FileSystem__Root"] = Path.Combine(artifacts, "checkpoints"),
            ["Sluice__Telemetry__OtlpEndpoint"] = $"http://127.0.0.1:{port}",
            ["Sluice__Telemetry__OtlpProtocol"] = "http/protobuf",
            ["Sluice__Telemetry__Prometheus"] = "true",
            // The SDK's standard settings: export every second instead of every minute.
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "500",
        }))
        {
            await silo.WaitUntilServingAsync("clicks", TimeSpan.FromSeconds(120));

            // Metrics and checkpoint spans arrive at the per-signal paths, with Sluice's and Orleans' instruments.
            await WaitForAsync(() => Contains(received, "/v1/metrics", "sluice.stage.records_in") && Contains(received, "/v1/metrics", "Microsoft.Orleans"), received, "OTLP metrics");
            await WaitForAsync(() => Contains(received, "/v1/traces", "sluice.checkpoint"), received, "an OTLP checkpoint span");
            Assert.All(received, r => Assert.Equal("application/x-protobuf", r.ContentType));
            Assert.All(received, r => Assert.Contains(r.Path, new[] { "/v1/metrics", "/v1/traces" }));

            // Prometheus: the tagged series of the demo pipeline.
            var scrape = await silo.Http.GetStringAsync("/metrics");
            Assert.Contains("sluice_stage_records_in", scrape, StringComparison.Ordinal);
            Assert.Contains("pipeline=\"clicks\"", scrape, StringComparison.Ordinal);
            output.WriteLine($"OTLP requests: {received.Count}; scrape: {scrape.Length} characters");
        }

        collector.Stop();
        await listening;
        Directory.Delete(artifacts, recursive: true);
    }

    private static async Task ReceiveAsync(HttpListener listener, ConcurrentQueue<(string, string, byte[])> into)
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            into.Enqueue((context.Request.Url!.AbsolutePath, context.Request.ContentType ?? "", body.ToArray()));
            context.Response.StatusCode = 200;
            context.Response.Close();
        }
    }

    /// <summary>Whether a request to <paramref name="path"/> carried <paramref name="text"/> (protobuf keeps strings as UTF-8).</summary>
    private static bool Contains(ConcurrentQueue<(string Path, string ContentType, byte[] Body)> received, string path, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return received.Any(r => r.Path == path && r.Body.AsSpan().IndexOf(bytes) >= 0);
    }

    private static async Task WaitForAsync(Func<bool> condition, ConcurrentQueue<(string Path, string ContentType, byte[] Body)> received, string what)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"no {what} within 60 s; got {received.Count} requests at {string.Join(", ", received.Select(r => r.Path).Distinct())}");
            await Task.Delay(250);
        }
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
