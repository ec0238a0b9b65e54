using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Streams;
using Sluice.Pipelines;
using Sluice.Sources;

namespace Sluice.Hosting;

/// <summary>Registers the Sluice engine and its pipelines in an Orleans silo.</summary>
public static class SluiceSiloBuilderExtensions
{
    /// <summary>The configuration section <see cref="AddSluice(ISiloBuilder, IConfiguration)"/> usually reads.</summary>
    public const string SourcesSectionName = "Sluice:Sources";

    /// <summary>
    /// Adds the engine to the silo: the pipeline registry, the key-group grains and the stream provider that runs the
    /// pipelines' sources. Pipelines are added with <see cref="AddSluicePipeline(IServiceCollection, Func{IServiceProvider, Pipeline})"/>
    /// and checkpoints need <c>AddSluiceCheckpointStorage</c>.
    /// </summary>
    /// <param name="builder">The silo.</param>
    /// <param name="configureSources">Changes to the source provider's defaults (8 queues, 32,768 cached batches per queue).</param>
    public static ISiloBuilder AddSluice(this ISiloBuilder builder, Action<SourceProviderOptions>? configureSources = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var sourceOptions = AddEngine(builder);
        if (configureSources is not null)
        {
            sourceOptions.Configure(configureSources);
        }

        return builder;
    }

    /// <summary>
    /// Adds the engine with the source provider's options bound from <paramref name="sources"/> (usually
    /// <c>configuration.GetSection("Sluice:Sources")</c>: <c>QueueCount</c>, <c>CacheSize</c>). Invalid values stop the
    /// silo at start with the setting named.
    /// </summary>
    public static ISiloBuilder AddSluice(this ISiloBuilder builder, IConfiguration sources)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(sources);
        AddEngine(builder).Bind(sources);
        return builder;
    }

    /// <summary>
    /// Registers a pipeline definition, built when the silo starts. Every silo of the cluster must register the same
    /// ones. An invalid definition stops the silo with its message.
    /// </summary>
    public static IServiceCollection AddSluicePipeline(this IServiceCollection services, Func<IServiceProvider, Pipeline> definition)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(definition);
        services.AddSingleton(new PipelineDefinition(definition));
        return services;
    }

    /// <summary>Registers a pipeline built without services.</summary>
    public static IServiceCollection AddSluicePipeline(this IServiceCollection services, Func<Pipeline> definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return services.AddSluicePipeline(_ => definition());
    }

    private static OptionsBuilder<SourceProviderOptions> AddEngine(ISiloBuilder builder)
    {
        builder.Services.TryAddSingleton<PipelineRegistry>();
        builder.Services.TryAddSingleton<Checkpointing.CheckpointCatalog>();
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, PipelineStartup>();
        builder.Services.TryAddSingleton<Migration.LocalMovableGrains>();
        builder.Services.TryAddSingleton<Migration.LastSiloDeparture>();
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, Migration.PlannedShutdown>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SourceProviderOptions>, SourceProviderOptionsValidator>());
        var sourceOptions = builder.Services.AddOptions<SourceProviderOptions>(SourceStreams.ProviderName).ValidateOnStart();

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
        return sourceOptions;
    }
}

/// <summary>Rejects source provider settings the engine cannot run with, naming each setting.</summary>
internal sealed class SourceProviderOptionsValidator : IValidateOptions<SourceProviderOptions>
{
    public ValidateOptionsResult Validate(string? name, SourceProviderOptions options)
    {
        List<string> failures = [];
        if (options.QueueCount < 1)
        {
            failures.Add($"{SluiceSiloBuilderExtensions.SourcesSectionName}:QueueCount must be at least 1; it was {options.QueueCount}.");
        }

        if (options.CacheSize < 100)
        {
            failures.Add($"{SluiceSiloBuilderExtensions.SourcesSectionName}:CacheSize must be at least 100; it was {options.CacheSize}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
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
