using Sluice.Storage;

namespace Sluice.Sinks.Files;

/// <summary>
/// Reads what a <see cref="FileSink{T}"/> committed: lists the part files directly under its prefix (staged parts
/// under <c>_staging/</c> are skipped, so a reader sees completed checkpoints only) and decodes them.
/// </summary>
public sealed class FileSinkReader<T> : IDisposable
{
    private readonly ICheckpointStore _store;
    private readonly bool _ownsStore;
    private readonly FilePartPaths _paths;
    private readonly FileFormat<T> _format;

    /// <summary>Reads the sink's output through the sink's own store.</summary>
    public FileSinkReader(FileSink<T> sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _store = sink.Store;
        _paths = sink.Paths;
        _format = sink.Format;
    }

    /// <summary>Reads part files of <paramref name="format"/> under the prefix and store of <paramref name="options"/>.</summary>
    public FileSinkReader(FileSinkOptions options, FileFormat<T> format)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(format);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException($"File sink reader is not configured correctly: {string.Join(" ", errors)}", nameof(options));
        }

        _store = CheckpointStoreFactory.Create(options.Storage, section: FileSinkOptions.SectionName + ":" + nameof(FileSinkOptions.Storage));
        _ownsStore = true;
        _paths = new FilePartPaths(options.NormalizedPrefix, format.Extension);
        _format = format;
    }

    /// <summary>Store paths of the committed part files, in ordinal order (by task, then by checkpoint).</summary>
    public async Task<IReadOnlyList<string>> ListPartsAsync(CancellationToken cancellationToken = default)
    {
        var listed = await _store.ListAsync(_paths.Folder, cancellationToken);
        var parts = new List<string>(listed.Count);
        foreach (var path in listed)
        {
            if (_paths.IsCommittedPart(path))
            {
                parts.Add(path);
            }
        }

        return parts;
    }

    /// <summary>The records of one part file, in the order they were written.</summary>
    public async Task<IReadOnlyList<T>> ReadPartAsync(string path, CancellationToken cancellationToken = default)
    {
        var bytes = await _store.GetAsync(path, cancellationToken)
            ?? throw new FileNotFoundException($"Part file '{path}' does not exist in {_store.Name}.", path);
        try
        {
            return await _format.DecodeAsync(bytes, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidDataException($"Part file '{path}' in {_store.Name} is not valid {_format.Name}: {e.Message}", e);
        }
    }

    /// <summary>Every committed record: the parts in <see cref="ListPartsAsync"/> order, each in written order.</summary>
    public async Task<List<T>> ReadAllAsync(CancellationToken cancellationToken = default)
    {
        var records = new List<T>();
        foreach (var path in await ListPartsAsync(cancellationToken))
        {
            records.AddRange(await ReadPartAsync(path, cancellationToken));
        }

        return records;
    }

    public void Dispose()
    {
        if (_ownsStore)
        {
            (_store as IDisposable)?.Dispose();
        }
    }
}
