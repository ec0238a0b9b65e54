using System.Globalization;

namespace Sluice.Tests.Hosting;

/// <summary>
/// The main job stopped the way a terminal (Ctrl+C) or a container runtime (SIGTERM) stops it: a single silo with the
/// demo on its embedded Kafka must leave quietly and quickly. Its key groups have no other silo to move to, the Kafka
/// clients must close before the embedded brokers go, and nothing may be logged at error level on the way out.
/// </summary>
public sealed class SiloShutdownTests
{
    [Fact]
    public async Task Single_silo_running_the_demo_exits_on_SIGTERM_within_seconds_and_logs_no_error()
    {
        var checkpoints = Directory.CreateTempSubdirectory("sluice-shutdown-checkpoints-").FullName;
        var dll = Path.Combine(AppContext.BaseDirectory, "Sluice.Silo.dll");
        await using var silo = HostProcess.Start(dll, new Dictionary<string, string>
        {
            ["Sluice__ApiUrl"] = $"http://127.0.0.1:{HostProcess.FreePort()}",
            ["Sluice__ApiKey"] = "shutdown-test",
            ["Sluice__SiloPort"] = HostProcess.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Sluice__GatewayPort"] = HostProcess.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Sluice__ClusterId"] = $"shutdown-{Guid.NewGuid():N}",
            ["Checkpoints__FileSystem__Root"] = checkpoints,
        });
        try
        {
            // Running with data flowing through every stage and at least one checkpoint done: key groups hold state,
            // sources hold Kafka consumers, sinks hold producers when the signal comes.
            await silo.WaitForAsync(
                lines => lines.Any(l => l.Contains("checkpoint 2 completed", StringComparison.Ordinal))
                    && lines.Any(l => l.StartsWith("top users, window ending", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(120),
                "A running demo with a completed checkpoint and a fired window");

            await silo.TerminateAsync();

            Assert.True(await silo.WaitForExitAsync(TimeSpan.FromSeconds(30)), "The silo did not exit within 30 s of SIGTERM:\n" + silo.Tail());
            Assert.Equal(0, silo.ExitCode);
            Assert.Contains(silo.Lines, l => l.Contains("Application is shutting down", StringComparison.Ordinal));
            var errors = silo.ErrorLines();
            Assert.True(errors.Count == 0, $"{errors.Count} error-level line(s), first ones:\n" + string.Join('\n', errors.Take(20)) + "\nTail:\n" + silo.Tail());
        }
        finally
        {
            Directory.Delete(checkpoints, recursive: true);
        }
    }
}
