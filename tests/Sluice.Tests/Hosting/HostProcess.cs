using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Sluice.Tests.Hosting;

/// <summary>
/// An app (a .dll) run with <c>dotnet</c> in its own process, its output collected line by line, stopped the way a
/// terminal or a container runtime stops it: SIGTERM, then SIGKILL only if the test ends first.
/// </summary>
internal sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private HostProcess(Process process) => _process = process;

    public IReadOnlyCollection<string> Lines => _lines;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static HostProcess Start(string dll, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet", $"\"{dll}\"")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start)!;
        var host = new HostProcess(process);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) host._lines.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) host._lines.Enqueue("stderr: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    /// <summary>Sends SIGTERM, as <c>docker stop</c>, Kubernetes or Container Apps do (Ctrl+C sends SIGINT, handled alike).</summary>
    public async Task TerminateAsync()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Waits for the process to end; false if it is still running after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async Task WaitForAsync(Func<IReadOnlyCollection<string>, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition(_lines))
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what} did not happen (exited: {_process.HasExited}). Output:\n{Tail()}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>
    /// Lines logged at error level or above: the console logger's <c>fail:</c> and <c>crit:</c> prefixes, and librdkafka's
    /// native log lines of level 3 (error) or lower (<c>%3|</c>, <c>%2|</c>, ...).
    /// </summary>
    public IReadOnlyList<string> ErrorLines() =>
        _lines.Where(l =>
        {
            var text = l.StartsWith("stderr: ", StringComparison.Ordinal) ? l["stderr: ".Length..] : l;
            return text.StartsWith("fail:", StringComparison.Ordinal) || text.StartsWith("crit:", StringComparison.Ordinal)
                || (text.Length > 2 && text[0] == '%' && text[1] is >= '0' and <= '3' && text[2] == '|')
                || text.StartsWith("Unhandled exception", StringComparison.Ordinal);
        }).ToList();

    public string Tail(int lines = 60) => string.Join('\n', _lines.TakeLast(lines));

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The output folder of a project of this repository built in the same configuration as the tests.</summary>
    public static string ProjectOutput(string projectFolder, string assemblyName)
    {
        // AppContext.BaseDirectory is tests/Sluice.Tests/bin/<Configuration>/<TargetFramework>/.
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = framework.Parent!;
        var repository = configuration.Parent!.Parent!.Parent!.Parent!.FullName;
        var dll = Path.Combine(repository, projectFolder, "bin", configuration.Name, framework.Name, assemblyName + ".dll");
        Assert.True(File.Exists(dll), $"{dll} is missing; build the tests (it is built with them).");
        return dll;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
