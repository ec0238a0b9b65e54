using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Sluice.Tests.Hosting;

/// <summary>The main job as a user runs it: the silo executable in its own process, read over HTTP.</summary>
public sealed class SiloProcessTests
{
    [Fact]
    public async Task Main_job_serves_pipelines_records_in_grows_and_the_savepoint_verb_takes_one()
    {
        var apiPort = FreePort();
        var checkpoints = Directory.CreateTempSubdirectory("sluice-silo-checkpoints-").FullName;
        var silo = Path.Combine(AppContext.BaseDirectory, "Sluice.Silo.dll");
        var start = new ProcessStartInfo("dotnet", $"\"{silo}\"")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.Environment["Sluice__ApiUrl"] = $"http://127.0.0.1:{apiPort}";
        start.Environment["Sluice__SiloPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["Sluice__GatewayPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["Sluice__ClusterId"] = $"test-{Guid.NewGuid():N}";
        start.Environment["Checkpoints__FileSystem__Root"] = checkpoints;
        start.Environment["Sluice__ApiKey"] = "silo-test-key"; // required outside Development

        using var process = Process.Start(start)!;
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}") };
            http.DefaultRequestHeaders.Add("X-Api-Key", "silo-test-key");
            var first = await ReadClicksAsync(http, TimeSpan.FromSeconds(60), output);
            await Task.Delay(TimeSpan.FromSeconds(5));
            var second = await ReadClicksAsync(http, TimeSpan.FromSeconds(10), output);

            Assert.Equal("Running", second.GetProperty("status").GetString());
            Assert.Equal(136, second.GetProperty("keyGroups").GetInt32());
            Assert.True(
                second.GetProperty("recordsIn").GetInt64() > first.GetProperty("recordsIn").GetInt64(),
                $"recordsIn did not grow: {first} then {second}");

            // The CLI verb of the same executable asks the running silo for a savepoint and waits for it.
            var (exitCode, said) = await RunAsync(silo, $"savepoint clicks before-upgrade --api http://127.0.0.1:{apiPort} --api-key silo-test-key --timeout 60");
            Assert.True(exitCode == 0, $"savepoint verb exited with {exitCode}: {said}");
            Assert.Contains("completed", said, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(checkpoints, "clicks", "savepoints", "before-upgrade", "_metadata")), said);
            var (again, refused) = await RunAsync(silo, $"savepoint clicks before-upgrade --api http://127.0.0.1:{apiPort} --api-key silo-test-key");
            Assert.True(again == 1 && refused.Contains("already has a savepoint", StringComparison.Ordinal), refused);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Directory.Delete(checkpoints, recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string silo, string arguments)
    {
        var start = new ProcessStartInfo("dotnet", $"\"{silo}\" {arguments}") { RedirectStandardOutput = true, RedirectStandardError = true };
        using var cli = Process.Start(start)!;
        var stdout = cli.StandardOutput.ReadToEndAsync();
        var stderr = cli.StandardError.ReadToEndAsync();
        await cli.WaitForExitAsync();
        return (cli.ExitCode, await stdout + await stderr);
    }

    private static async Task<JsonElement> ReadClicksAsync(HttpClient http, TimeSpan timeout, IEnumerable<string> output)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var doc = JsonDocument.Parse(await http.GetStringAsync("/api/pipelines"));
                var clicks = doc.RootElement.EnumerateArray().Single(p => p.GetProperty("id").GetString() == "clicks");
                if (clicks.GetProperty("recordsIn").GetInt64() > 0)
                {
                    return clicks.Clone();
                }
            }
            catch (HttpRequestException ex)
            {
                last = ex;
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"The silo did not report the demo pipeline in time ({last?.Message}). Output:\n{string.Join('\n', output.TakeLast(40))}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
