using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Sluice.Tests.Storage;

/// <summary>
/// A node-based dev service (Azurite, s3rver) run from the repository's node_modules as a child process on a free
/// loopback port with its own temporary data folder. It can be stopped and started again on the same port and
/// folder (to test an unreachable store), and is killed with its process tree when disposed.
/// </summary>
public sealed class DevServiceProcess : IAsyncDisposable
{
    private readonly string _name;
    private readonly string _script;
    private readonly Func<int, string, IEnumerable<string>> _arguments;
    private readonly ConcurrentQueue<string> _log = new();
    private Process? _process;

    private DevServiceProcess(string name, string script, Func<int, string, IEnumerable<string>> arguments)
    {
        _name = name;
        _script = script;
        _arguments = arguments;
        Port = FreePort();
        DataDirectory = Directory.CreateTempSubdirectory($"sluice-{name}-").FullName;
    }

    public int Port { get; }

    public string DataDirectory { get; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The repository root: the nearest folder above the test binaries that holds Orleans.sln.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Why the service cannot run here (no node, or node_modules not installed), or null.</summary>
    public static string? Unavailable(string script)
    {
        if (FindOnPath("node") is null)
        {
            return "node is not on PATH; the storage emulator tests need node and npm (Debian: apt-get install nodejs npm)";
        }

        return File.Exists(Path.Combine(RepoRoot, script))
            ? null
            : $"{script} is missing; run `npm ci --no-audit --no-fund --loglevel=error` in {RepoRoot} (./test.sh does it)";
    }

    /// <summary>Starts the service and waits until its port accepts connections.</summary>
    public static async Task<DevServiceProcess> StartAsync(string name, string script, Func<int, string, IEnumerable<string>> arguments)
    {
        var service = new DevServiceProcess(name, script, arguments);
        try
        {
            await service.StartAsync();
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }

        return service;
    }

    /// <summary>(Re)starts the process on the same port and data folder.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            return;
        }

        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = DataDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(RepoRoot, _script));
        foreach (var argument in _arguments(Port, DataDirectory))
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {_name}");
        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{_name} exited with code {process.ExitCode} before listening on port {Port}:\n{Log}");
            }

            if (await AcceptsAsync(Port))
            {
                return;
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException($"{_name} did not listen on port {Port} within 30 s:\n{Log}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Stops the process: SIGTERM, then a kill of the tree after a grace period. SIGTERM matters for Azurite: it keeps
    /// blob metadata in LokiJS and saves it every 5 s and on shutdown, so after a SIGKILL the blobs written in the last
    /// few seconds are gone when it restarts on the same folder (observed with 3.37.0). s3rver writes files directly.
    /// </summary>
    public async Task StopAsync()
    {
        var process = _process;
        if (process is null)
        {
            return;
        }

        _process = null;
        try
        {
            if (!process.HasExited)
            {
                if (!OperatingSystem.IsWindows())
                {
                    using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false });
                    await kill!.WaitForExitAsync();
                }

                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                try
                {
                    await process.WaitForExitAsync(grace.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }

            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
        finally
        {
            process.Dispose();
        }

        // The port must be closed before a test relies on the service being unreachable.
        var closed = Stopwatch.StartNew();
        while (await AcceptsAsync(Port) && closed.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(50);
        }
    }

    public string Log => string.Join('\n', _log);

    public async ValueTask DisposeAsync()
    {
        try
        {
            var process = _process;
            _process = null;
            if (process is not null)
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync();
                }

                process.Dispose();
            }
        }
        finally
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        _log.Enqueue(line);
        while (_log.Count > 200 && _log.TryDequeue(out _))
        {
        }
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? FindOnPath(string program)
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var name in OperatingSystem.IsWindows() ? new[] { program + ".exe", program + ".cmd" } : [program])
            {
                var candidate = Path.Combine(folder, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Orleans.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no folder above {AppContext.BaseDirectory} contains Orleans.sln");
    }
}

/// <summary>Azurite's blob service on a free port (one per test class that uses it).</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public const string Script = "node_modules/azurite/dist/src/blob/main.js";

    // Azurite's well-known development account (public, documented by Microsoft; not a secret).
    private const string DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    public string? SkipReason { get; private set; }

    public DevServiceProcess Service { get; private set; } = null!;

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevAccountKey};BlobEndpoint=http://127.0.0.1:{Service.Port}/devstoreaccount1;";

    public async Task InitializeAsync()
    {
        SkipReason = DevServiceProcess.Unavailable(Script);
        if (SkipReason is null)
        {
            Service = await DevServiceProcess.StartAsync("azurite", Script, (port, dir) =>
                ["--blobHost", "127.0.0.1", "--blobPort", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--location", dir,
                 "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry"]);
        }
    }

    public async Task DisposeAsync()
    {
        if (SkipReason is null)
        {
            await Service.DisposeAsync();
        }
    }
}

/// <summary>s3rver on a free port (one per test class that uses it); credentials S3RVER / S3RVER.</summary>
public sealed class S3rverFixture : IAsyncLifetime
{
    public const string Script = "node_modules/s3rver/bin/s3rver.js";

    public string? SkipReason { get; private set; }

    public DevServiceProcess Service { get; private set; } = null!;

    public string ServiceUrl => $"http://127.0.0.1:{Service.Port}";

    public async Task InitializeAsync()
    {
        SkipReason = DevServiceProcess.Unavailable(Script);
        if (SkipReason is null)
        {
            Service = await DevServiceProcess.StartAsync("s3rver", Script, (port, dir) =>
                ["--directory", dir, "--address", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--silent"]);
        }
    }

    public async Task DisposeAsync()
    {
        if (SkipReason is null)
        {
            await Service.DisposeAsync();
        }
    }
}
