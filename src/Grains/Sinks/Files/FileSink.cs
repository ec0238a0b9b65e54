using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Functions;
using Sluice.Storage;

namespace Sluice.Sinks.Files;

/// <summary>
/// Writes a stream as part files (JSON Lines or Parquet) to a blob store, exactly once: what a task writes between
/// two checkpoint barriers is one epoch, staged as one object under <c>{prefix}/_staging/</c> when the barrier passes
/// and given its final name <c>{prefix}/part-{task:D4}-{checkpoint:D10}{ext}</c> when that checkpoint completes. A
/// reader that lists the prefix (skipping <c>_staging/</c>, as <see cref="FileSinkReader{T}"/> does) sees only whole
/// parts of completed checkpoints, each once.
/// </summary>
/// <remarks>
/// The store is created once per sink instance, on first use, and shared by the sink's tasks on that silo. A record
/// that cannot be serialized makes <see cref="ISinkFunction{T}.Write"/> throw (the task counts and reports it); the
/// epoch keeps the other records.
/// </remarks>
public sealed class FileSink<T> : SinkDefinition<T>
{
    private readonly Lazy<ICheckpointStore> _store;

    public FileSink(string name, FileSinkOptions options, FileFormat<T> format, int parallelism = 1)
        : base(name, parallelism)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(format);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException($"File sink '{name}' is not configured correctly: {string.Join(" ", errors)}", nameof(options));
        }

        Options = options;
        Format = format;
        Paths = new FilePartPaths(options.NormalizedPrefix, format.Extension);
        _store = new Lazy<ICheckpointStore>(
            () =>
            {
                var store = CheckpointStoreFactory.Create(options.Storage, LoggerFactory, FileSinkOptions.SectionName + ":" + nameof(FileSinkOptions.Storage));
                return StoreDecorator is { } decorate ? decorate(store) : store;
            },
            LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public FileSinkOptions Options { get; }

    public FileFormat<T> Format { get; }

    /// <summary>Logs of the store (e.g. the S3 store's commit-mode probe).</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    internal FilePartPaths Paths { get; }

    /// <summary>Wraps the store the sink creates (fault-injection tests make it slow or failing); null: the store as is.</summary>
    internal Func<ICheckpointStore, ICheckpointStore>? StoreDecorator { get; init; }

    internal ICheckpointStore Store => _store.Value;

    public override ISinkFunction<T> CreateWriter(int taskIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(taskIndex);
        return new FileSinkWriter<T>(this, taskIndex);
    }
}
