using System.Diagnostics;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Sluice.Tests.Storage;

namespace Sluice.Tests.Deployment;

/// <summary>
/// infra/Dockerfile read against the repository: what it copies exists, every project the silo needs reaches the build
/// stage, it publishes src/Silo and runs that assembly as a non-root user. This machine has no Docker, so the image build
/// itself is a separate test that is skipped here with that reason.
/// </summary>
public sealed partial class DockerfileTests
{
    private static readonly string Root = DevServiceProcess.RepoRoot;
    private static readonly string DockerfilePath = Path.Combine(Root, "infra", "Dockerfile");
    private const string SiloProject = "src/Silo/Sluice.Silo.csproj";

    [Fact]
    public void Everything_the_Dockerfile_copies_from_the_build_context_exists()
    {
        var copies = Instructions().Where(i => i.Verb == "COPY" && !i.Arguments.Any(a => a.StartsWith("--from=", StringComparison.Ordinal))).ToList();

        Assert.NotEmpty(copies);
        foreach (var copy in copies)
        {
            foreach (var source in copy.Arguments.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).SkipLast(1))
            {
                Assert.True(File.Exists(Path.Combine(Root, source)) || Directory.Exists(Path.Combine(Root, source)), $"COPY {source}: no such file or folder in the repository");
            }
        }
    }

    [Fact]
    public void The_image_publishes_the_silo_and_runs_its_assembly_as_a_non_root_user_on_the_aspnet_runtime()
    {
        var instructions = Instructions();
        var text = string.Join('\n', instructions.Select(i => i.Verb + " " + string.Join(' ', i.Arguments)));

        Assert.Contains("dotnet restore " + SiloProject, text, StringComparison.Ordinal);
        Assert.Contains("dotnet publish " + SiloProject, text, StringComparison.Ordinal);
        var assemblyName = XDocument.Load(Path.Combine(Root, SiloProject)).Descendants("AssemblyName").Single().Value;
        var entrypoint = instructions.Last(i => i.Verb == "ENTRYPOINT");
        Assert.Contains($"\"{assemblyName}.dll\"", string.Join(' ', entrypoint.Arguments), StringComparison.Ordinal);

        // The final stage: the ASP.NET runtime image of the framework the projects target, and not root.
        var stages = instructions.Where(i => i.Verb == "FROM").ToList();
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:", stages[0].Arguments[0], StringComparison.Ordinal);
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:", stages[^1].Arguments[0], StringComparison.Ordinal);
        var finalStage = instructions.SkipWhile(i => i != stages[^1]).ToList();
        var user = Assert.Single(finalStage, i => i.Verb == "USER").Arguments.Single();
        Assert.DoesNotContain(user, new[] { "root", "0", "0:0" });
        var targetFramework = XDocument.Load(Path.Combine(Root, "Directory.Build.props")).Descendants("TargetFramework").Single().Value;
        var version = instructions.First(i => i.Verb == "ARG" && i.Arguments[0].StartsWith("DOTNET_VERSION=", StringComparison.Ordinal)).Arguments[0].Split('=')[1];
        Assert.Equal(targetFramework, "net" + version);
    }

    [Fact]
    public void Every_project_the_silo_references_reaches_the_build_stage()
    {
        var copied = Instructions().Where(i => i.Verb == "COPY" && !i.Arguments.Any(a => a.StartsWith("--from=", StringComparison.Ordinal)))
            .SelectMany(i => i.Arguments.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).SkipLast(1))
            .ToList();
        var ignored = File.ReadAllLines(Path.Combine(Root, "infra", "Dockerfile.dockerignore"))
            .Where(l => l.Length > 0 && l[0] != '#')
            .Select(IgnorePattern)
            .ToList();

        var projects = ProjectClosure(SiloProject);

        Assert.Contains(SiloProject, projects);
        Assert.Contains("Directory.Build.props", copied);
        Assert.Contains("Directory.Packages.props", copied);
        foreach (var project in projects)
        {
            Assert.True(copied.Any(c => project.StartsWith(c.TrimEnd('/') + "/", StringComparison.Ordinal)), $"{project} (referenced by the silo) is not under anything the Dockerfile copies");
            Assert.False(ignored.Any(p => p.IsMatch(project)), $"{project} is excluded by infra/Dockerfile.dockerignore");
        }
    }

    [SkippableFact]
    public async Task The_image_builds_with_docker()
    {
        var docker = Environment.GetEnvironmentVariable("PATH")?.Split(':').Select(d => Path.Combine(d, "docker")).FirstOrDefault(File.Exists);
        Skip.If(docker is null, "docker is not installed on this machine, so the image has not been built here (the other DockerfileTests check the file against the repository)");
        Skip.IfNot(await SucceedsAsync(docker, "info"), "the docker CLI is installed but no Docker daemon answers, so the image has not been built here (the other DockerfileTests check the file against the repository)");

        var start = new ProcessStartInfo(docker, ["build", "-f", "infra/Dockerfile", "-t", "sluice-silo:test", "."])
        {
            WorkingDirectory = Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(30));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"docker build exited {process.ExitCode}: {await error}{await output}");
    }

    private static async Task<bool> SucceedsAsync(string program, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        await Task.WhenAll(output, error);
        return process.ExitCode == 0;
    }

    /// <summary>The Dockerfile's instructions, continuation lines joined, comments dropped.</summary>
    private static List<(string Verb, string[] Arguments)> Instructions()
    {
        var result = new List<(string, string[])>();
        var pending = "";
        foreach (var raw in File.ReadAllLines(DockerfilePath))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || (line.Length == 0 && pending.Length == 0))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }

            var instruction = (pending + line).Trim();
            pending = "";
            if (instruction.Length == 0)
            {
                continue;
            }

            var parts = instruction.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            result.Add((parts[0].ToUpperInvariant(), parts[1..]));
        }

        return result;
    }

    /// <summary>The project and every project it references, directly or not, as paths relative to the repository root.</summary>
    private static SortedSet<string> ProjectClosure(string project)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([project]);
        while (pending.TryPop(out var next))
        {
            if (!seen.Add(next))
            {
                continue;
            }

            var full = Path.Combine(Root, next);
            Assert.True(File.Exists(full), $"{next} does not exist");
            foreach (var reference in XDocument.Load(full).Descendants("ProjectReference"))
            {
                var path = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(full)!, reference.Attribute("Include")!.Value.Replace('\\', '/')));
                pending.Push(Path.GetRelativePath(Root, path).Replace('\\', '/'));
            }
        }

        return seen;
    }

    /// <summary>A .dockerignore line (e.g. <c>**/bin/</c>) as a regex over a path relative to the context root.</summary>
    private static Regex IgnorePattern(string pattern)
    {
        var body = Regex.Escape(pattern.Trim().TrimEnd('/'))
            .Replace(@"\*\*/", "(.*/)?", StringComparison.Ordinal)
            .Replace(@"\*", "[^/]*", StringComparison.Ordinal);
        return new Regex("^" + body + "(/|$)");
    }
}
