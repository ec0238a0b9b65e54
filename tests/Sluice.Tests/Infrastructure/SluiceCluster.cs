using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Sluice.Grains;
using Sluice.Hosting;
using Sluice.Pipelines;

namespace Sluice.Tests.Infrastructure;

/// <summary>A real in-process Orleans cluster with the Sluice engine on every silo.</summary>
public sealed class SluiceCluster : IAsyncDisposable
{
    private SluiceCluster(TestCluster cluster) => Cluster = cluster;

    public TestCluster Cluster { get; }

    public static async Task<SluiceCluster> StartAsync(int silos)
    {
        var builder = new TestClusterBuilder((short)silos);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new SluiceCluster(cluster);
    }

    /// <summary>Registers the pipeline on every silo, as a host would at start.</summary>
    public void Register(Pipeline pipeline)
    {
        foreach (var silo in Cluster.Silos.OfType<InProcessSiloHandle>())
        {
            silo.SiloHost.Services.GetRequiredService<PipelineRegistry>().Register(pipeline);
        }
    }

    public Task<PipelineStatus> StatusAsync(string pipelineId) => Cluster.Client.GetGrain<IPipelineGrain>(pipelineId).GetStatusAsync();

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) => siloBuilder.AddSluice(o => o.QueueCount = 4);
    }
}
