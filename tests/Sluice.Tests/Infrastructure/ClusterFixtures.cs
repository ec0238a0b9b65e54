namespace Sluice.Tests.Infrastructure;

/// <summary>
/// One cluster shared by every test of a class (xunit class fixture): starting a TestCluster costs
/// seconds, so tests share it and keep apart by giving each pipeline a unique id.
/// </summary>
public abstract class ClusterFixture(int silos) : IAsyncLifetime
{
    private SluiceCluster? _cluster;

    public int Silos { get; } = silos;

    public SluiceCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster has not started.");

    public async Task InitializeAsync() => _cluster = await SluiceCluster.StartAsync(Silos, ConfigureSilo);

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    /// <summary>Extra silo configuration (grain call filters and the like); none by default.</summary>
    protected virtual Action<ISiloBuilder>? ConfigureSilo => null;
}

public sealed class OneSiloCluster() : ClusterFixture(1);

public sealed class TwoSiloCluster() : ClusterFixture(2);

public sealed class ThreeSiloCluster() : ClusterFixture(3);
