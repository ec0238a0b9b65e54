using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Sluice.Grains;
using Sluice.Hosting;
using Sluice.Pipelines;
using Sluice.Storage;

namespace Sluice.Tests.Infrastructure;

/// <summary>A real in-process Orleans cluster with the Sluice engine on every silo.</summary>
public sealed class SluiceCluster : IAsyncDisposable
{
    private const string ExtraConfigurationKey = "Sluice:Tests:ExtraSiloConfiguration";

    // Silo configurators are created by type inside each silo, so a per-cluster delegate reaches them
    // through this table, looked up by a key the cluster passes in its configuration.
    private static readonly ConcurrentDictionary<string, Action<ISiloBuilder>> ExtraConfigurations = new();

    private readonly string? _extraKey;

    private SluiceCluster(TestCluster cluster, string? extraKey)
    {
        Cluster = cluster;
        _extraKey = extraKey;
    }

    public TestCluster Cluster { get; }

    public int SiloCount => Cluster.Silos.Count;

    public static Task<SluiceCluster> StartAsync(int silos) => StartAsync(silos, configureSilo: null);

    /// <summary>Starts a cluster whose silos also get <paramref name="configureSilo"/> (e.g. grain call filters).</summary>
    public static Task<SluiceCluster> StartAsync(int silos, Action<ISiloBuilder>? configureSilo) =>
        StartAsync(silos, configureSilo, ConnectionTransportType.InMemory);

    /// <summary>
    /// Starts a cluster whose gateways listen on real TCP ports (<c>Primary.GatewayAddress</c>), so a separate Orleans
    /// client (an app's own <c>AddSluiceClient</c>) can connect as it would to a deployed silo.
    /// </summary>
    public static Task<SluiceCluster> StartWithTcpGatewaysAsync(int silos) => StartAsync(silos, null, ConnectionTransportType.TcpSocket);

    private static async Task<SluiceCluster> StartAsync(int silos, Action<ISiloBuilder>? configureSilo, ConnectionTransportType transport)
    {
        var builder = new TestClusterBuilder((short)silos);
        builder.Options.ConnectionTransport = transport;
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        string? key = null;
        if (configureSilo is not null)
        {
            key = Guid.NewGuid().ToString("N");
            ExtraConfigurations[key] = configureSilo;
            builder.Properties[ExtraConfigurationKey] = key;
        }

        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new SluiceCluster(cluster, key);
    }

    /// <summary>Starts a cluster whose silos checkpoint to a local folder.</summary>
    public static Task<SluiceCluster> StartWithCheckpointsAsync(int silos, string root) =>
        StartAsync(silos, silo => silo.Services.AddSluiceCheckpointStorage(o =>
        {
            o.Kind = CheckpointStoreKinds.FileSystem;
            o.FileSystem.Root = root;
        }));

    private readonly List<Pipeline> _pipelines = [];

    /// <summary>Registers the pipeline on every silo, as a host would at start.</summary>
    public void Register(Pipeline pipeline)
    {
        _pipelines.Add(pipeline);
        foreach (var silo in Cluster.Silos.OfType<InProcessSiloHandle>())
        {
            silo.SiloHost.Services.GetRequiredService<PipelineRegistry>().Register(pipeline);
        }
    }

    /// <summary>Starts one more silo, which joins the running cluster with the pipelines registered so far.</summary>
    public async Task<SiloHandle> StartSiloAsync()
    {
        var silo = await Cluster.StartAdditionalSiloAsync();
        var registry = ((InProcessSiloHandle)silo).SiloHost.Services.GetRequiredService<PipelineRegistry>();
        foreach (var pipeline in _pipelines)
        {
            registry.Register(pipeline);
        }

        return silo;
    }

    /// <summary>
    /// Crashes <paramref name="silo"/>: its grain calls fail both ways from now on (see <see cref="SiloCrashes"/>), then
    /// TestCluster kills it, so nothing it holds moves away gracefully. Returns once the cluster has declared it dead (or
    /// after 30 s), so the test's own calls no longer go to it.
    /// </summary>
    public async Task CrashSiloAsync(SiloHandle silo)
    {
        SiloCrashes.Crash(silo.SiloAddress);
        await Cluster.KillSiloAsync(silo);
        var management = Cluster.Client.GetGrain<IManagementGrain>(0);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!cts.IsCancellationRequested)
        {
            try
            {
                var hosts = await management.GetHosts(onlyActive: false);
                if (hosts.TryGetValue(silo.SiloAddress, out var status) && status == SiloStatus.Dead)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is OrleansException or TimeoutException or OperationCanceledException)
            {
                // the membership may be busy with the change; ask again
            }

            await Task.Delay(100);
        }
    }

    public Task<PipelineStatus> StatusAsync(string pipelineId) => Cluster.Client.GetGrain<IPipelineGrain>(pipelineId).GetStatusAsync();

    /// <summary>
    /// Polls the pipeline's status (tasks report about once a second) until <paramref name="condition"/>
    /// holds; throws with the last status seen when <paramref name="timeout"/> passes first.
    /// </summary>
    public async Task<PipelineStatus> WaitForStatusAsync(string pipelineId, Func<PipelineStatus, bool> condition, TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        PipelineStatus? last = null;
        while (!cts.IsCancellationRequested)
        {
            last = await StatusAsync(pipelineId);
            if (condition(last))
            {
                return last;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Pipeline '{pipelineId}': {what} did not happen within {timeout}; last status: {Describe(last)}");
    }

    public static string Describe(PipelineStatus? s) =>
        s is null
            ? "none"
            : $"state={s.State} in={s.RecordsIn} out={s.RecordsOut} late={s.LateRecordsDropped} invalid={s.InvalidRecords} "
              + $"error={s.LastError ?? "-"} stages=[{string.Join("; ", s.Stages.Select(g => $"{g.Name} active={g.ActiveTasks}/{g.Parallelism} in={g.RecordsIn} out={g.RecordsOut} wm={g.Watermark} dup={g.DuplicatesDropped}"))}] "
              + $"sources=[{string.Join("; ", s.Sources.Select(p => $"{p.Partition}: read={p.RecordsRead} wm={p.Watermark} idle={p.Idle} backlog={p.Backlog} ended={p.Ended}"))}]";

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        if (_extraKey is not null)
        {
            ExtraConfigurations.TryRemove(_extraKey, out _);
        }
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.AddSluice(o => o.QueueCount = 4);
            siloBuilder.AddCrashFilter();
            if (siloBuilder.Configuration[ExtraConfigurationKey] is { } key && ExtraConfigurations.TryGetValue(key, out var configure))
            {
                configure(siloBuilder);
            }
        }
    }
}
