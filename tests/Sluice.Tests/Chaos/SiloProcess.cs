using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Sluice.Tests.Chaos;

/// <summary>
/// One <c>Sluice.Silo</c> executable in its own process (<c>dotnet Sluice.Silo.dll</c> from the test's output folder),
/// configured through <c>Sluice__...</c> environment variables, with its own silo, gateway and API ports. Its output
/// goes, time-stamped, to a log file and a bounded in-memory tail. <see cref="Kill"/> is SIGKILL on Linux.
/// </summary>
internal sealed partial class SiloProcess : IAsyncDisposable
{
    private const int TailLines = 300;

    private readonly Process _process;
    /// <summary>The admin API's key (required outside Development) unless the settings give one (empty: none).</summary>
    private const string DefaultApiKey = "chaos-test-key";

    private readonly StreamWriter _log;
    private readonly Lock _logGate = new();
    private readonly ConcurrentQueue<string> _tail = new();
    private readonly ConcurrentDictionary<string, (int Count, string Example)> _problems = new(StringComparer.Ordinal);
    private bool _disposed;

    private SiloProcess(string name, int siloPort, int gatewayPort, int apiPort, string apiKey, Process process, StreamWriter log, string logPath)
    {
        Name = name;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        ApiPort = apiPort;
        LogPath = logPath;
        _process = process;
        _log = log;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}"), Timeout = TimeSpan.FromSeconds(3) };
        if (apiKey.Length > 0)
        {
            Http.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        }

        StartedAt = DateTimeOffset.UtcNow;
    }

    public string Name { get; }

    public int SiloPort { get; }

    public int GatewayPort { get; }

    public int ApiPort { get; }

    public string LogPath { get; }

    public HttpClient Http { get; }

    public DateTimeOffset StartedAt { get; }

    /// <summary>When the test killed or stopped it; null while it is meant to run.</summary>
    public DateTimeOffset? KilledAt { get; private set; }

    /// <summary>The process ended without being killed by the test (a crash or a startup error).</summary>
    public bool ExitedOnItsOwn => KilledAt is null && _process.HasExited;

    public bool IsAlive => KilledAt is null && !_process.HasExited;

    /// <summary>Its admin API has answered for the pipeline: it joined the cluster and runs the job.</summary>
    public bool IsServing => ServingSince is not null;

    /// <summary>When its admin API first answered for the pipeline.</summary>
    public DateTimeOffset? ServingSince { get; private set; }

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>
    /// Warnings, errors and unhandled exceptions the silo logged, grouped by their text with numbers blanked: how many,
    /// and the first one as it was logged.
    /// </summary>
    public IReadOnlyDictionary<string, (int Count, string Example)> Problems => _problems;

    public static SiloProcess Start(string name, string logFolder, IReadOnlyDictionary<string, string> settings)
    {
        var siloPort = FreePort();
        var gatewayPort = FreePort();
        var apiPort = FreePort();
        var dll = Path.Combine(AppContext.BaseDirectory, "Sluice.Silo.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(dll);
        foreach (var (key, value) in settings)
        {
            start.Environment[key] = value;
        }

        start.Environment["Sluice__ApiUrl"] = $"http://127.0.0.1:{apiPort}";
        var apiKey = settings.TryGetValue("Sluice__ApiKey", out var given) ? given : DefaultApiKey;
        start.Environment["Sluice__ApiKey"] = apiKey; // required outside Development
        start.Environment["Sluice__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture);
        start.Environment["Sluice__GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture);
        // One line per log entry (exceptions included) with a time, so logs line up with the kills.
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        start.Environment["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
        start.Environment["Logging__Console__FormatterOptions__ColorBehavior"] = "Disabled";

        var logPath = Path.Combine(logFolder, $"{name}.log");
        var log = new StreamWriter(logPath, append: false) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {dll}");
        var silo = new SiloProcess(name, siloPort, gatewayPort, apiPort, apiKey, process, log, logPath);
        process.OutputDataReceived += (_, e) => silo.Record(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    /// <summary>Waits until the admin API answers for <paramref name="pipeline"/> (the silo has joined and started).</summary>
    public async Task WaitUntilServingAsync(string pipeline, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        string? last = null;
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} while starting:\n{Tail(60)}");
            }

            try
            {
                using var response = await Http.GetAsync($"/api/pipelines/{pipeline}");
                if (response.IsSuccessStatusCode)
                {
                    ServingSince = DateTimeOffset.UtcNow;
                    return;
                }

                last = $"HTTP {(int)response.StatusCode}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"{Name} did not serve /api/pipelines/{pipeline} within {timeout} ({last}):\n{Tail(60)}");
    }

    /// <summary>True when the test stopped it with SIGTERM (a graceful shutdown) rather than SIGKILL.</summary>
    public bool StoppedGracefully { get; private set; }

    /// <summary>
    /// Asks the process to shut down (SIGTERM, as a container platform does when it scales in or replaces a revision);
    /// completes when it exited, with how long that took, or null when it had not exited within <paramref name="timeout"/>.
    /// </summary>
    public async Task<TimeSpan?> StopGracefullyAsync(TimeSpan timeout)
    {
        KilledAt = DateTimeOffset.UtcNow;
        StoppedGracefully = true;
        Record($"---- stopped by the chaos test (SIGTERM) at {KilledAt:HH:mm:ss.fff} ----");
        using (var signal = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await signal.WaitForExitAsync();
        }

        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(wait.Token);
            return DateTimeOffset.UtcNow - KilledAt.Value;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Kills the process and its children without warning (SIGKILL), as a crashed machine would stop.</summary>
    public void Kill()
    {
        KilledAt = DateTimeOffset.UtcNow;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        Record($"---- killed by the chaos test (SIGKILL) at {KilledAt:HH:mm:ss.fff} ----");
    }

    public string Tail(int lines) => string.Join('\n', _tail.TakeLast(lines));

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
        {
            // Already gone, or stuck in the kernel: nothing more a test can do.
        }
        finally
        {
            _process.Dispose();
            Http.Dispose();
            lock (_logGate)
            {
                _disposed = true;
                _log.Dispose();
            }
        }
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logGate)
        {
            if (!_disposed)
            {
                _log.WriteLine(line);
            }
        }

        _tail.Enqueue(line);
        while (_tail.Count > TailLines && _tail.TryDequeue(out _))
        {
        }

        var problem = ProblemLine().Match(line);
        if (problem.Success)
        {
            var text = problem.Groups["text"].Value;
            var key = Numbers().Replace(text.Length > 220 ? text[..220] : text, "#");
            _problems.AddOrUpdate($"{problem.Groups["level"].Value}: {key}", (1, line), (_, p) => (p.Count + 1, p.Example));
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    // "12:00:01.123 warn: Category[0] message" (simple console formatter, single line) or an unhandled exception.
    [GeneratedRegex(@"^(?:\S+ )?(?<level>warn|fail|crit): (?<text>.*)$|^(?<level>Unhandled exception)\. (?<text>.*)$")]
    private static partial Regex ProblemLine();

    [GeneratedRegex(@"\d+")]
    private static partial Regex Numbers();
}
