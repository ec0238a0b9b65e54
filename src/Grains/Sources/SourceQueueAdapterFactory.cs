using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Providers.Streams.Common;
using Orleans.Streams;
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
internal sealed class SourceQueueAdapterFactory : IQueueAdapterFactory, IQueueAdapter
{
    private readonly SourceProviderOptions _options;
    private readonly PipelineRegistry _registry;
    private readonly IServiceProvider _services;
    private readonly ILoggerFactory _loggerFactory;
    private readonly HashRingBasedStreamQueueMapper _mapper;
    private readonly List<QueueId> _queues;
    private readonly SimpleQueueAdapterCache _cache;

    public SourceQueueAdapterFactory(string name, SourceProviderOptions options, IServiceProvider services)
    {
        if (options.QueueCount < 1 || options.CacheSize < 100)
        {
            throw new OptionsValidationException(name, typeof(SourceProviderOptions), [$"Stream provider '{name}': QueueCount must be positive and CacheSize at least 100."]);
        }

        Name = name;
        _options = options;
        _services = services;
        _registry = services.GetRequiredService<PipelineRegistry>();
        _loggerFactory = services.GetRequiredService<ILoggerFactory>();
        _mapper = new HashRingBasedStreamQueueMapper(new HashRingStreamQueueMapperOptions { TotalQueueCount = options.QueueCount }, name);
        _queues = _mapper.GetAllQueues().OrderBy(q => q.GetNumericId()).ToList();
        _cache = new SimpleQueueAdapterCache(new SimpleQueueCacheOptions { CacheSize = options.CacheSize }, name, _loggerFactory);
    }

    public string Name { get; }

    public bool IsRewindable => false;

    public StreamProviderDirection Direction => StreamProviderDirection.ReadOnly;

    public static SourceQueueAdapterFactory Create(IServiceProvider services, string name) =>
        new(name, services.GetRequiredService<IOptionsMonitor<SourceProviderOptions>>().Get(name), services);

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task<IQueueAdapter> CreateAdapter() => Task.FromResult<IQueueAdapter>(this);

    public Task<IQueueAdapter> CreateAdapter(CancellationToken cancellationToken) => Task.FromResult<IQueueAdapter>(this);

    public IQueueAdapterCache GetQueueAdapterCache() => _cache;

    public IStreamQueueMapper GetStreamQueueMapper() => _mapper;

    public Task<IStreamFailureHandler> GetDeliveryFailureHandler(QueueId queueId) => Task.FromResult<IStreamFailureHandler>(new NoOpStreamDeliveryFailureHandler());

    public IQueueAdapterReceiver CreateReceiver(QueueId queueId) =>
        new SourceQueueReceiver(
            _queues.IndexOf(queueId), _options.QueueCount, _registry, _services, _services.GetRequiredService<IGrainFactory>(),
            _loggerFactory.CreateLogger($"Sluice.Sources.{Name}"));

    public Task QueueMessageBatchAsync<T>(StreamId streamId, IEnumerable<T> events, StreamSequenceToken? token, Dictionary<string, object>? requestContext) =>
        throw new InvalidOperationException($"Stream provider '{Name}' is read-only: its streams are produced by pipeline sources.");
}
