using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Sluice.Storage;

namespace Sluice.Checkpointing;

/// <summary>
/// Reads what the store holds about a pipeline's checkpoints: which ones completed (their <c>_metadata</c> was
/// committed) and what a given one holds. The coordinator picks the checkpoint an attempt restores from; tasks and
/// source partitions read its metadata here, once per silo (metadata never changes after the commit).
/// </summary>
internal sealed class CheckpointCatalog(ILogger<CheckpointCatalog> logger, ICheckpointStore? store = null)
{
    private readonly Dictionary<string, Task<CheckpointMetadata?>> _metadata = new(StringComparer.Ordinal);

    /// <summary>The registered store; a silo without one runs only pipelines that take no checkpoints.</summary>
    public ICheckpointStore Store =>
        store ?? throw new InvalidOperationException("Checkpoints are enabled but no checkpoint store is registered; call AddSluiceCheckpointStorage(...).");

    /// <summary>The metadata at <paramref name="path"/> (a checkpoint's or a savepoint's); null when it is missing or unreadable (logged). Store failures throw.</summary>
    public Task<CheckpointMetadata?> GetAsync(string path)
    {
        lock (_metadata)
        {
            if (!_metadata.TryGetValue(path, out var task) || task.IsFaulted || task.IsCanceled)
            {
                _metadata[path] = task = ReadAsync(path);
            }

            return task;
        }
    }

    /// <summary>Ids of the checkpoints with a committed <c>_metadata</c>, oldest first, and the highest id any folder uses.</summary>
    public async Task<(List<long> Completed, long HighestId)> ListAsync(string pipeline)
    {
        var completed = new List<long>();
        long highest = 0;
        foreach (var path in await Store.ListAsync($"{pipeline}/chk-"))
        {
            if (TryParseId(path, out var id))
            {
                highest = Math.Max(highest, id);
                if (path.EndsWith("/_metadata", StringComparison.Ordinal))
                {
                    completed.Add(id);
                }
            }
        }

        completed.Sort();
        return (completed, highest);
    }

    /// <summary>The checkpoint id in a path such as "p/chk-12/3-4".</summary>
    public static bool TryParseId(string path, out long id)
    {
        id = 0;
        var start = path.IndexOf("/chk-", StringComparison.Ordinal);
        if (start < 0)
        {
            return false;
        }

        var end = path.IndexOf('/', start + 5);
        return end > 0 && long.TryParse(path.AsSpan(start + 5, end - start - 5), NumberStyles.None, CultureInfo.InvariantCulture, out id);
    }

    private async Task<CheckpointMetadata?> ReadAsync(string path)
    {
        var bytes = await Store.GetAsync(path);
        if (bytes is null)
        {
            logger.LogError("{Path} does not exist", path);
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(bytes, CheckpointJson.Default.CheckpointMetadata);
        }
        catch (JsonException ex)
        {
            logger.LogError(ex, "{Path} is unreadable", path);
            return null;
        }
    }
}
