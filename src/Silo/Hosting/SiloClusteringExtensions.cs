using System.Net;
using Azure.Data.Tables;
using Orleans.Configuration;

namespace Sluice.Silo.Hosting;

/// <summary>Cluster membership of the silo, chosen by configuration (section <c>Sluice:Clustering</c>).</summary>
internal static class SiloClusteringExtensions
{
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

        ConfigureMembership(silo, configuration.GetSection(SiloClusteringOptions.MembershipSectionName));
        if (options.ResolvedKind == ClusteringKinds.Localhost)
        {
            return silo.UseLocalhostClustering(host.SiloPort, host.GatewayPort, serviceId: host.ServiceId, clusterId: host.ClusterId);
        }

        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = host.ClusterId;
            o.ServiceId = host.ServiceId;
        });
        // Listen on the advertised address only: several silos of one machine each own their port pair.
        silo.ConfigureEndpoints(IPAddress.Parse(options.AdvertisedIPAddress), host.SiloPort, host.GatewayPort, listenOnAnyHostAddress: false);
        return silo.UseAzureStorageClustering(table =>
        {
            table.TableServiceClient = new TableServiceClient(options.ConnectionString);
            if (!string.IsNullOrWhiteSpace(options.TableName))
            {
                table.TableName = options.TableName;
            }
        });
    }

    /// <summary>
    /// Binds <c>Sluice:Clustering:Membership</c> onto <see cref="ClusterMembershipOptions"/>. Bound once eagerly with
    /// unknown keys rejected, so a misspelt or malformed setting stops the silo with its name instead of being ignored.
    /// </summary>
    private static void ConfigureMembership(ISiloBuilder silo, IConfigurationSection section)
    {
        if (!section.Exists())
        {
            return;
        }

        try
        {
            _ = section.Get<ClusterMembershipOptions>(o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"Invalid silo clustering configuration: {section.Path}: {e.Message}", e);
        }

        silo.Services.Configure<ClusterMembershipOptions>(section);
    }
}
