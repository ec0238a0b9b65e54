using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;

namespace Sluice.Tests.Hosting;

/// <summary>
/// The libraries a user installs pack with <c>dotnet pack</c> (from the build the tests already made): each package
/// has its id, a description, and depends on the packages it needs rather than embedding them.
/// </summary>
public sealed class PackagingTests
{
    [Theory]
    [InlineData("src/Grains.Abstractions/Sluice.Grains.Abstractions.csproj", "Sluice.Abstractions", new string[0])]
    [InlineData("src/Grains/Sluice.Grains.csproj", "Sluice", new[] { "Sluice.Abstractions" })]
    [InlineData("src/Client/Sluice.Client.csproj", "Sluice.Client", new[] { "Sluice.Abstractions" })]
    [InlineData("src/AspNetCore/Sluice.AspNetCore.csproj", "Sluice.AspNetCore", new[] { "Sluice" })]
    public async Task Library_packs_with_its_id_a_description_and_its_sluice_dependencies(string project, string packageId, string[] dependsOn)
    {
        // AppContext.BaseDirectory is tests/Sluice.Tests/bin/<Configuration>/<TargetFramework>/.
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = framework.Parent!.Name;
        var repository = framework.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        var output = Directory.CreateTempSubdirectory("sluice-pack-").FullName;
        try
        {
            var start = new ProcessStartInfo("dotnet", ["pack", Path.Combine(repository, project), "-c", configuration, "--no-build", "-o", output])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var pack = Process.Start(start)!;
            var said = pack.StandardOutput.ReadToEndAsync();
            var complained = pack.StandardError.ReadToEndAsync();
            await pack.WaitForExitAsync();
            Assert.True(pack.ExitCode == 0, $"dotnet pack {project} exited with {pack.ExitCode}:\n{await said}\n{await complained}");

            var package = Assert.Single(Directory.GetFiles(output, $"{packageId}.*.nupkg"));
            using var archive = ZipFile.OpenRead(package);
            var nuspecEntry = Assert.Single(archive.Entries, e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
            using var stream = nuspecEntry.Open();
            var nuspec = XDocument.Load(stream);
            var ns = nuspec.Root!.GetDefaultNamespace();
            var metadata = nuspec.Root.Element(ns + "metadata")!;
            Assert.Equal(packageId, metadata.Element(ns + "id")!.Value);
            Assert.True(metadata.Element(ns + "description")!.Value.Length > 40, "the package needs a real description");
            var dependencies = metadata.Descendants(ns + "dependency").Select(d => d.Attribute("id")!.Value).ToList();
            foreach (var dependency in dependsOn)
            {
                Assert.Contains(dependency, dependencies);
            }

            Assert.Contains(archive.Entries, e => e.FullName.StartsWith("lib/net10.0/", StringComparison.Ordinal) && e.FullName.EndsWith(".dll", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }
}
