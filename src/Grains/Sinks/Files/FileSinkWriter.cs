using Sluice.Functions;

namespace Sluice.Sinks.Files;

/// <summary>
/// One task of a <see cref="FileSink{T}"/>: encodes records into the open epoch, stages the epoch as one object at
/// each barrier and renames it into place (copy to the final name, then delete the staged object) when the
/// checkpoint completes.
/// </summary>
/// <remarks>
/// Staging and committing run on the thread pool, not on the task's scheduler: Parquet encoding is CPU work and the
/// file system store writes and fsyncs synchronously.
/// </remarks>
internal sealed class FileSinkWriter<T>(FileSink<T> sink, int taskIndex) : ITransactionalSink<T>, IMovableSink, IDisposable
{
    private readonly IEpochEncoder<T> _encoder = sink.Format.CreateEncoder();

    /// <summary>Records in the open epoch (written since the last barrier).</summary>
    public int PendingRecords => _encoder.Count;

    public void Write(T value, SinkContext context) => _encoder.Write(value);

    public Task<byte[]?> PrepareAsync(long checkpointId, CancellationToken cancellationToken)
    {
        // Synchronous part: take the epoch, so records written from now on belong to the next one.
        var epoch = _encoder.Seal();
        if (epoch is null)
        {
            return Task.FromResult<byte[]?>(null);
        }

        var transaction = new FilePartTransaction(
            sink.Paths.Staged(taskIndex, checkpointId, Guid.NewGuid()),
            sink.Paths.Final(taskIndex, checkpointId),
            epoch.Records);
        return Task.Run(() => StageAsync(epoch, transaction, cancellationToken), CancellationToken.None);
    }

    public Task CommitAsync(long checkpointId, byte[] transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var part = FilePartTransaction.FromBytes(transaction);
        return Task.Run(() => CommitPartAsync(checkpointId, part, cancellationToken), CancellationToken.None);
    }

    /// <summary>
    /// The open epoch encoded in the sink's own format (the part file it would have become). Encoding and decoding run on
    /// the thread pool and are waited for: the task is moving and processes nothing meanwhile.
    /// </summary>
    public byte[] ExportOpenEpoch()
    {
        if (_encoder.Seal() is not { } epoch)
        {
            return [];
        }

        using (epoch)
        {
            return Task.Run(async () => (await epoch.EncodeAsync(CancellationToken.None)).ToArray()).GetAwaiter().GetResult(); // a move only: the task processes nothing meanwhile, and the pool thread it waits for is not its own
        }
    }

    public void ImportOpenEpoch(ReadOnlySpan<byte> epoch)
    {
        var part = epoch.ToArray();
        var records = Task.Run(async () => await sink.Format.DecodeAsync(part, CancellationToken.None)).GetAwaiter().GetResult(); // the moved task's first turn, before it processes anything; decoding runs on the pool
        foreach (var record in records)
        {
            _encoder.Write(record);
        }
    }

    /// <summary>Drops the open epoch (its records were never staged; a replay produces them again).</summary>
    public void Dispose() => _encoder.Dispose();

    private async Task<byte[]?> StageAsync(ISealedEpoch epoch, FilePartTransaction transaction, CancellationToken cancellationToken)
    {
        using (epoch)
        {
            var file = await epoch.EncodeAsync(cancellationToken);
            await sink.Store.PutAsync(transaction.StagedPath, file, cancellationToken);
        }

        return transaction.ToBytes();
    }

    /// <summary>
    /// Idempotent: a part whose staged object is gone was committed before (if its final object exists); a part
    /// whose final object exists already keeps it (the store's create-once commit) and only loses the staged copy.
    /// </summary>
    private async Task CommitPartAsync(long checkpointId, FilePartTransaction part, CancellationToken cancellationToken)
    {
        var store = sink.Store;
        var staged = await store.GetAsync(part.StagedPath, cancellationToken);
        if (staged is null)
        {
            if (await store.ExistsAsync(part.FinalPath, cancellationToken))
            {
                return;
            }

            throw new FileSinkCommitException(sink.Name, checkpointId, part.StagedPath, part.FinalPath, part.Records, store.Name);
        }

        // Create-once, whole or not at all: readers never see a partial part, and a part committed by an earlier
        // call is never replaced.
        await store.CommitAsync(part.FinalPath, staged, cancellationToken);
        await store.DeleteAsync(part.StagedPath, cancellationToken);
    }
}
