using Microsoft.Extensions.Logging;
using Sluice.Storage;

namespace Sluice.Kafka;

/// <summary>
/// One exactly-once Kafka sink task's spilled epochs (<see cref="KafkaSinkOptions.SpillThreshold"/>): what its writer
/// spilled, reading one back to produce it, deleting it once committed, and, after a restore, discarding what no
/// transaction of the restored state refers to. The blob format is <see cref="KafkaEpochSpill"/>'s.
/// </summary>
internal sealed class KafkaTaskSpills(ICheckpointStore? store, string pipelineId, string sinkName, int taskIndex, long? threshold, ILogger logger)
{
    private readonly HashSet<string> _spilledHere = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Whether a handle of <paramref name="length"/> bytes goes to the store rather than into the checkpoint.</summary>
    public bool Spills(int length) => store is not null && threshold is { } limit && length > limit;

    /// <summary>Puts the handle beside the checkpoint and returns the reference the checkpoint keeps instead.</summary>
    public Task<byte[]> SpillAsync(long epoch, byte[] handle)
    {
        var path = KafkaEpochSpill.PathFor(pipelineId, sinkName, taskIndex, epoch);
        lock (_gate)
        {
            _spilledHere.Add(path); // before it exists: a discard running meanwhile keeps it
        }

        return KafkaEpochSpill.SpillAsync(store!, path, handle);
    }

    /// <summary>The spilled handle a reference names; fails naming the path when the store lacks it.</summary>
    public Task<byte[]> ReadAsync(byte[] reference) => KafkaEpochSpill.ReadAsync(store, reference, sinkName);

    /// <summary>
    /// The epoch is committed (its marker is what a restore checks first), so no checkpoint needs its spilled records any
    /// more; a blob that cannot be deleted is only garbage.
    /// </summary>
    public async Task DeleteCommittedAsync(byte[] reference)
    {
        var path = KafkaEpochSpill.PathOf(reference);
        try
        {
            await store!.DeleteAsync(path);
        }
        catch (CheckpointStoreException ex)
        {
            logger.LogWarning("Kafka sink '{Sink}': the committed epoch's spill {Path} could not be deleted: {Reason}", sinkName, path, ex.Message);
        }
    }

    /// <summary>
    /// After a restore: deletes this task's spills that neither a handle of <paramref name="pending"/> (what the restored
    /// state holds for the task) refers to nor this writer spilled itself: epochs of checkpoints that never completed.
    /// </summary>
    public async Task DiscardUnreferencedAsync(IReadOnlyList<byte[]> pending)
    {
        if (store is null)
        {
            return;
        }

        var folder = KafkaEpochSpill.FolderOf(pipelineId, sinkName, taskIndex);
        try
        {
            var discarded = await KafkaEpochSpill.DiscardUnreferencedAsync(store, folder, pending, SpilledHere);
            if (discarded > 0)
            {
                logger.LogInformation("Kafka sink '{Sink}' task {Task}: discarded {Count} spilled epochs that no checkpoint will commit", sinkName, taskIndex, discarded);
            }
        }
        catch (CheckpointStoreException ex)
        {
            logger.LogWarning("Kafka sink '{Sink}' task {Task}: spilled epochs under {Folder} that no checkpoint will commit could not be discarded: {Reason}", sinkName, taskIndex, folder, ex.Message);
        }
    }

    private bool SpilledHere(string path)
    {
        lock (_gate)
        {
            return _spilledHere.Contains(path);
        }
    }
}
