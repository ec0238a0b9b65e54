using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Providers.Streams.Common;
using Orleans.Streams;
using Sluice.Checkpointing;
using Sluice.Pipelines;

namespace Sluice.Sources;

/// <summary>Settings of the stream provider that runs generator and in-memory sources.</summary>
public sealed class SourceProviderOptions
{
    /// <summary>Queues the provider spreads source partitions over; the unit the queue balancer moves between silos.</summary>
    public int QueueCount { get; set; } = 8;

    /// <summary>Batch containers cached per queue; bounds memory and applies backpressure to sources.</summary>
    public int CacheSize { get; set; } = 32_768;
}

/// <summary>
/// The Orleans persistent stream provider behind Sluice's built-in sources. Read-only: its receivers produce
/// containers from source readers; nothing is ever enqueued through it.
/// </summary>
internal sealed class SourceQueueAdapterFactory : ReadOnlyQueueAdapterFactory
{
    private readonly SourceProviderOptions _options;
    private readonly PipelineRegistry _registry;
    private readonly IServiceProvider _services;
    private readonly ILoggerFactory _loggerFactory;

    public SourceQueueAdapterFactory(string name, SourceProviderOptions options, IServiceProvider services)
        : base(name, Validated(name, options).QueueCount, options.CacheSize, services.GetRequiredService<ILoggerFactory>())
    {
        _options = options;
        _services = services;
        _registry = services.GetRequiredService<PipelineRegistry>();
        _loggerFactory = services.GetRequiredService<ILoggerFactory>();
    }

    public static SourceQueueAdapterFactory Create(IServiceProvider services, string name) =>
        new(name, services.GetRequiredService<IOptionsMonitor<SourceProviderOptions>>().Get(name), services);

    public override IQueueAdapterReceiver CreateReceiver(QueueId queueId) =>
        new SourceQueueReceiver(
            Queues.IndexOf(queueId), _options.QueueCount, _registry, _services.GetRequiredService<CheckpointCatalog>(),
            _services.GetRequiredService<ILocalSiloDetails>().SiloAddress, _services, _services.GetRequiredService<IGrainFactory>(),
            _loggerFactory.CreateLogger($"Sluice.Sources.{Name}"));

    private static SourceProviderOptions Validated(string name, SourceProviderOptions options) =>
        options.QueueCount < 1 || options.CacheSize < 100
            ? throw new OptionsValidationException(name, typeof(SourceProviderOptions), [$"Stream provider '{name}': QueueCount must be positive and CacheSize at least 100."])
            : options;
}
