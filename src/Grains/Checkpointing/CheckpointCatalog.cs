using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Sluice.Pipelines;
using Sluice.Storage;

namespace Sluice.Checkpointing;

/// <summary>
/// Finds the checkpoint a pipeline resumes from when its tasks and source partitions start: the newest one
/// whose <c>_metadata</c> was committed. Looked up once per pipeline per silo; a pipeline without
/// checkpoints (or with no complete one yet) starts empty.
/// </summary>
internal sealed class CheckpointCatalog(IServiceProvider services, ILogger<CheckpointCatalog> logger)
{
    private readonly Dictionary<string, Task<CheckpointMetadata?>> _latest = new(StringComparer.Ordinal);

    public Task<CheckpointMetadata?> LatestAsync(PipelinePlan plan)
    {
        if (plan.Options.CheckpointInterval is null || !plan.Options.ResumeFromCheckpoint)
        {
            return Task.FromResult<CheckpointMetadata?>(null);
        }

        if (services.GetService(typeof(ICheckpointStore)) is null)
        {
            // The coordinator reports this loudly; tasks start empty rather than failing to activate.
            logger.LogError("Pipeline {Pipeline} takes checkpoints but no checkpoint store is registered; it starts without state", plan.Id);
            return Task.FromResult<CheckpointMetadata?>(null);
        }

        lock (_latest)
        {
            if (!_latest.TryGetValue(plan.Id, out var task))
            {
                _latest[plan.Id] = task = FindAsync(plan.Id);
            }

            return task;
        }
    }

    public ICheckpointStore Store =>
        services.GetService(typeof(ICheckpointStore)) as ICheckpointStore
        ?? throw new InvalidOperationException("Checkpoints are enabled but no checkpoint store is registered; call AddSluiceCheckpointStorage(...).");

    private async Task<CheckpointMetadata?> FindAsync(string pipeline)
    {
        var ids = new List<long>();
        foreach (var path in await Store.ListAsync($"{pipeline}/chk-"))
        {
            var start = $"{pipeline}/chk-".Length;
            var slash = path.IndexOf('/', start);
            if (path.EndsWith("/_metadata", StringComparison.Ordinal) && slash > start
                && long.TryParse(path.AsSpan(start, slash - start), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                ids.Add(id);
            }
        }

        // Newest first; a metadata blob that cannot be read falls back to the one before it.
        foreach (var id in ids.OrderDescending())
        {
            try
            {
                var bytes = await Store.GetAsync(CheckpointLayout.Metadata(pipeline, id));
                if (bytes is not null && JsonSerializer.Deserialize(bytes, CheckpointJson.Default.CheckpointMetadata) is { } metadata)
                {
                    logger.LogInformation("Pipeline {Pipeline} resumes from checkpoint {Id}", pipeline, id);
                    return metadata;
                }
            }
            catch (JsonException ex)
            {
                logger.LogError(ex, "Checkpoint {Id} of {Pipeline} has unreadable metadata; trying the previous one", id, pipeline);
            }
        }

        return null;
    }
}
