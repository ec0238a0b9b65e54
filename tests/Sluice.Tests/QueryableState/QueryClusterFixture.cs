using Microsoft.Extensions.DependencyInjection;
using Sluice.Hosting;
using Sluice.Queries;
using Sluice.Tests.Infrastructure;

namespace Sluice.Tests.QueryableState;

/// <summary>Two in-process silos checkpointing to a temporary folder, and an <see cref="ISluiceClient"/> on the test cluster's client.</summary>
public sealed class QueryClusterFixture : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-queries-").FullName;
    private SluiceCluster? _cluster;

    public SluiceCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster has not started.");

    public ISluiceClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _cluster = await SluiceCluster.StartWithCheckpointsAsync(2, _root);
        // AddSluiceClient uses the Orleans client the host already has: here, the test cluster's.
        Client = new ServiceCollection()
            .AddSingleton(_cluster.Cluster.Client)
            .AddSluiceClient()
            .BuildServiceProvider()
            .GetRequiredService<ISluiceClient>();
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        Directory.Delete(_root, recursive: true);
    }
}
