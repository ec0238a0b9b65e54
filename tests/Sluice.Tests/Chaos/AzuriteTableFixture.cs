using System.Globalization;
using Sluice.Tests.Storage;

namespace Sluice.Tests.Chaos;

/// <summary>
/// Azurite's table service on a free port: the membership table of a multi-process Orleans cluster (Orleans' Azure
/// Table clustering). Not started when node or node_modules are missing; <see cref="SkipReason"/> says why.
/// </summary>
public sealed class AzuriteTableFixture : IAsyncLifetime
{
    public const string Script = "node_modules/azurite/dist/src/table/main.js";

    // Azurite's well-known development account (public, documented by Microsoft; not a secret).
    private const string DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    public string? SkipReason { get; private set; }

    public DevServiceProcess Service { get; private set; } = null!;

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevAccountKey};TableEndpoint=http://127.0.0.1:{Service.Port}/devstoreaccount1;";

    public async Task InitializeAsync()
    {
        SkipReason = DevServiceProcess.Unavailable(Script);
        if (SkipReason is null)
        {
            Service = await DevServiceProcess.StartAsync("azurite-table", Script, (port, dir) =>
                ["--tableHost", "127.0.0.1", "--tablePort", port.ToString(CultureInfo.InvariantCulture), "--location", dir,
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
