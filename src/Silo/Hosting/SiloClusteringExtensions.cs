using System.Net;
using Azure.Data.Tables;
using Azure.Identity;
using Orleans.Configuration;

namespace Sluice.Silo.Hosting;

/// <summary>Cluster membership of the silo, chosen by configuration (section <c>Sluice:Clustering</c>).</summary>
internal static class SiloClusteringExtensions
{
    private static readonly TimeSpan DistributedDirectoryLease = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Localhost (default): Orleans' development clustering, as the single-process main job has always run.
    /// AzureTable: a real membership table, so silos in separate processes join one cluster and a killed one is
    /// voted dead by the others. Invalid settings throw here, at startup, with the setting named.
    /// </summary>
    public static ISiloBuilder UseSluiceClustering(this ISiloBuilder silo, SluiceHostOptions host, IConfiguration configuration)
    {
        var options = configuration.GetSection(SiloClusteringOptions.SectionName).Get<SiloClusteringOptions>() ?? new SiloClusteringOptions();
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("Invalid silo clustering configuration: " + string.Join(" ", errors));
        }

        BindStrictly<ClusterMembershipOptions>(silo, configuration.GetSection(SiloClusteringOptions.MembershipSectionName));
        if (options.ResolvedGrainDirectory == GrainDirectoryKinds.Distributed)
        {
#pragma warning disable ORLEANSEXP003 // experimental in Orleans 10; chosen for what it measures here, see GrainDirectoryKinds
            silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
            silo.Services.Configure<GrainDirectoryOptions>(o => o.RangeLeaseDuration = DistributedDirectoryLease);
        }

        // After the defaults above, so the section overrides them.
        BindStrictly<GrainDirectoryOptions>(silo, configuration.GetSection(SiloClusteringOptions.DirectorySectionName));
        if (options.ResolvedKind == ClusteringKinds.Localhost)
        {
            return silo.UseLocalhostClustering(host.SiloPort, host.GatewayPort, serviceId: host.ServiceId, clusterId: host.ClusterId);
        }

        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = host.ClusterId;
            o.ServiceId = host.ServiceId;
        });
        if (options.AdvertisesOwnAddress)
        {
            // Orleans picks the host's first non-loopback address (a container replica's own).
            silo.ConfigureEndpoints(host.SiloPort, host.GatewayPort, listenOnAnyHostAddress: true);
        }
        else
        {
            // Listen on the advertised address only: several silos of one machine each own their port pair.
            silo.ConfigureEndpoints(IPAddress.Parse(options.AdvertisedIPAddress), host.SiloPort, host.GatewayPort, listenOnAnyHostAddress: false);
        }
        return silo.UseAzureStorageClustering(table =>
        {
            // A managed identity (Container Apps) through DefaultAzureCredential, or the connection string's key.
            table.TableServiceClient = string.IsNullOrWhiteSpace(options.ServiceUri)
                ? new TableServiceClient(options.ConnectionString)
                : new TableServiceClient(new Uri(options.ServiceUri), new DefaultAzureCredential());
            if (!string.IsNullOrWhiteSpace(options.TableName))
            {
                table.TableName = options.TableName;
            }
        });
    }

    /// <summary>
    /// Binds a section (<c>Sluice:Clustering:Membership</c>, <c>Sluice:Clustering:Directory</c>) onto Orleans' options. Bound
    /// once eagerly with unknown keys rejected, so a misspelt or malformed setting stops the silo with its name instead of
    /// being ignored.
    /// </summary>
    private static void BindStrictly<TOptions>(ISiloBuilder silo, IConfigurationSection section)
        where TOptions : class
    {
        if (!section.Exists())
        {
            return;
        }

        try
        {
            _ = section.Get<TOptions>(o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"Invalid silo clustering configuration: {section.Path}: {e.Message}", e);
        }

        silo.Services.Configure<TOptions>(section);
    }
}
