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
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, PipelineStartup>();
        builder.Services.AddSingleton<Migration.LocalMovableGrains>();
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, Migration.PlannedShutdown>();
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
                // Never give a delivery up: past this time the agent would move an implicit subscription's cursor on and
                // the key group would never see the batch. A key group blocked by backpressure is slow, not gone; the
                // agent keeps retrying (the receiver drops the copies it already had) until it takes the batch.
                o.MaxEventDeliveryTime = Timeout.InfiniteTimeSpan;
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

/// <summary>
/// Registers DI-defined pipelines while the silo initialises, before it joins the cluster: a silo that joins a
/// running cluster can be handed key groups and source queues at once, and must know their pipelines by then.
/// An invalid definition stops the silo with its message.
/// </summary>
internal sealed class PipelineStartup(PipelineRegistry registry, IEnumerable<PipelineDefinition> definitions, IServiceProvider services)
    : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(PipelineStartup), ServiceLifecycleStage.RuntimeInitialize, _ =>
        {
            foreach (var definition in definitions)
            {
                registry.Register(definition.Create(services));
            }

            return Task.CompletedTask;
        });
}
