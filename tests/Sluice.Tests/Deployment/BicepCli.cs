using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Sluice.Tests.Deployment;

/// <summary>
/// The Bicep CLI from the Azure.Bicep.CommandLine.linux-x64 package that restore downloads for this test project (its
/// folder reaches the tests as assembly metadata, see Sluice.Tests.csproj).
/// </summary>
internal static class BicepCli
{
    /// <summary>Why the CLI cannot run here, or null. The package only carries a linux-x64 build.</summary>
    public static string? Unavailable =>
        OperatingSystem.IsLinux() && RuntimeInformation.OSArchitecture == Architecture.X64
            ? null
            : $"the Bicep CLI restored here is the linux-x64 build; this machine is {RuntimeInformation.OSDescription} {RuntimeInformation.OSArchitecture}";

    /// <summary>The executable; throws when restore did not put it where the package says.</summary>
    public static string Path
    {
        get
        {
            var directory = typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "BicepPackageDirectory")?.Value;
            if (string.IsNullOrEmpty(directory))
            {
                throw new InvalidOperationException("Sluice.Tests was built without BicepPackageDirectory: is Azure.Bicep.CommandLine.linux-x64 still a PackageReference with GeneratePathProperty?");
            }

            var path = System.IO.Path.Combine(directory, "tools", "bicep");
            if (!File.Exists(path))
            {
                throw new InvalidOperationException($"{path} is missing; restore the test project (dotnet restore tests/Sluice.Tests).");
            }

            return path;
        }
    }

    /// <summary>Runs <c>bicep</c> with the arguments and returns its exit code, standard output and standard error.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // No telemetry from a test run, and no update check over the network.
        start.Environment["BICEP_TELEMETRY_ENABLED"] = "false";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Path}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
