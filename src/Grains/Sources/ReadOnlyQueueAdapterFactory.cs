using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Providers.Streams.Common;
using Orleans.Streams;

namespace Sluice.Sources;

/// <summary>
/// What every Sluice stream provider shares: it only reads (streams are produced by its receivers, never
/// enqueued through Orleans), a fixed set of queues in a hash-ring mapper listed in a stable order, and a
/// simple cache. Subclasses say how a queue is read.
/// </summary>
internal abstract class ReadOnlyQueueAdapterFactory : IQueueAdapterFactory, IQueueAdapter
{
    private readonly HashRingBasedStreamQueueMapper _mapper;
    private readonly SimpleQueueAdapterCache _cache;

    protected ReadOnlyQueueAdapterFactory(string name, int queueCount, int cacheSize, ILoggerFactory loggerFactory)
    {
        Name = name;
        _mapper = new HashRingBasedStreamQueueMapper(new HashRingStreamQueueMapperOptions { TotalQueueCount = queueCount }, name);
        Queues = _mapper.GetAllQueues().OrderBy(q => q.GetNumericId()).ToList();
        _cache = new SimpleQueueAdapterCache(new SimpleQueueCacheOptions { CacheSize = cacheSize }, name, loggerFactory);
    }

    public string Name { get; }

    public bool IsRewindable => false;

    public StreamProviderDirection Direction => StreamProviderDirection.ReadOnly;

    /// <summary>The provider's queues, ordered by numeric id: queue <c>i</c> reads the <c>i</c>-th unit of input.</summary>
    protected List<QueueId> Queues { get; }

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task<IQueueAdapter> CreateAdapter() => Task.FromResult<IQueueAdapter>(this);

    public Task<IQueueAdapter> CreateAdapter(CancellationToken cancellationToken) => Task.FromResult<IQueueAdapter>(this);

    public IQueueAdapterCache GetQueueAdapterCache() => _cache;

    public IStreamQueueMapper GetStreamQueueMapper() => _mapper;

    public Task<IStreamFailureHandler> GetDeliveryFailureHandler(QueueId queueId) => Task.FromResult<IStreamFailureHandler>(new NoOpStreamDeliveryFailureHandler());

    public abstract IQueueAdapterReceiver CreateReceiver(QueueId queueId);

    public Task QueueMessageBatchAsync<T>(StreamId streamId, IEnumerable<T> events, StreamSequenceToken? token, Dictionary<string, object>? requestContext) =>
        throw new InvalidOperationException($"Stream provider '{Name}' is read-only: its streams are produced by its receivers.");
}
