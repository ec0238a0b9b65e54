using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Sluice.Queries;

namespace Sluice.Hosting;

/// <summary>Registers <see cref="ISluiceClient"/> in an application's services.</summary>
public static class SluiceClientServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="ISluiceClient"/>. When no Orleans client is registered yet, also adds one that connects to a
    /// Sluice cluster through the localhost gateway described by <see cref="SluiceClientOptions"/>. When the host
    /// already has an <see cref="IClusterClient"/> (its own <c>AddOrleansClient</c>, or <c>UseOrleans</c> in a silo),
    /// that client is used and the options are not applied; call this method after <c>UseOrleans</c> in that case.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Changes to the default options (gateway port 30000, cluster and service id "sluice").</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddSluiceClient(this IServiceCollection services, Action<SluiceClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        var hasClusterClient = services.Any(d => d.ServiceType == typeof(IClusterClient));
        services.TryAddSingleton<ISluiceClient, SluiceClient>();
        if (hasClusterClient)
        {
            return services;
        }

        var options = services.AddOptions<SluiceClientOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SluiceClientOptions>, SluiceClientOptionsValidator>());

        services.AddOrleansClient(client =>
        {
            client.UseStaticClustering(gateways => gateways.Configure<IOptions<SluiceClientOptions>>((gatewayOptions, sluice) =>
                gatewayOptions.Gateways = [new IPEndPoint(IPAddress.Loopback, sluice.Value.GatewayPort).ToGatewayUri()]));
            client.Services.AddOptions<ClusterOptions>().Configure<IOptions<SluiceClientOptions>>((cluster, sluice) =>
            {
                cluster.ClusterId = sluice.Value.ClusterId;
                cluster.ServiceId = sluice.Value.ServiceId;
            });
        });

        return services;
    }
}
