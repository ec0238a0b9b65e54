using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Streams;
using Sluice.Pipelines;
using Sluice.Sources;

namespace Sluice.Hosting;

/// <summary>Registers the Sluice engine in an Orleans silo.</summary>
internal static class SluiceSiloBuilderExtensions
{
    /// <summary>Adds the engine: pipeline registry, key-group grains and the source stream provider.</summary>
    public static ISiloBuilder AddSluice(this ISiloBuilder builder, Action<SourceProviderOptions>? configureSources = null)
    {
        builder.Services.AddSingleton<PipelineRegistry>();
        builder.Services.AddSingleton<Checkpointing.CheckpointCatalog>();
        builder.Services.AddHostedService<PipelineStartup>();
        var sourceOptions = builder.Services.AddOptions<SourceProviderOptions>(SourceStreams.ProviderName);
        if (configureSources is not null)
        {
            sourceOptions.Configure(configureSources);
        }

        builder.AddPersistentStreams(SourceStreams.ProviderName, SourceQueueAdapterFactory.Create, stream =>
        {
            stream.ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly);
            stream.ConfigurePullingAgent(agent => agent.Configure(o =>
            {
                o.BatchContainerBatchSize = 64;
                o.GetQueueMsgsTimerPeriod = TimeSpan.FromMilliseconds(20);
            }));
        });
        return builder;
    }

    /// <summary>Registers a pipeline definition; every silo of the cluster must register the same ones.</summary>
    public static IServiceCollection AddSluicePipeline(this IServiceCollection services, Func<IServiceProvider, Pipeline> definition)
    {
        services.AddSingleton(new PipelineDefinition(definition));
        return services;
    }
}

/// <summary>A pipeline registered through DI, built when the silo starts.</summary>
internal sealed record PipelineDefinition(Func<IServiceProvider, Pipeline> Create);

/// <summary>Registers DI-defined pipelines at start, so an invalid definition stops the silo with its message.</summary>
internal sealed class PipelineStartup(PipelineRegistry registry, IEnumerable<PipelineDefinition> definitions, IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var definition in definitions)
        {
            registry.Register(definition.Create(services));
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
