using System.Text.Json;
using System.Text.RegularExpressions;
using Sluice.Grains;
using Sluice.Storage;

namespace Sluice.Checkpointing;

/// <summary>
/// Savepoints: a checkpoint taken on demand whose blobs are copied under "{pipeline}/savepoints/{name}/" with their
/// own <c>_metadata</c>. Retention never touches that folder; a pipeline can start from one by name.
/// </summary>
internal sealed partial class CheckpointCoordinatorGrain
{
    private readonly Queue<string> _savepointRequests = new();
    private readonly Dictionary<string, string> _savepointFailures = new(StringComparer.Ordinal);
    private SavepointStart? _startSavepoint;

    public async Task TriggerSavepointAsync(string name)
    {
        if (_plan.Options.CheckpointInterval is null)
        {
            throw new InvalidOperationException($"Pipeline '{_plan.Id}' takes no checkpoints (PipelineOptions.CheckpointInterval), so it cannot take savepoints.");
        }

        if (!SavepointLayout.IsValidName(name))
        {
            throw new ArgumentException($"Savepoint name '{name}' is not valid: use 1-64 letters, digits, '-' or '_'.", nameof(name));
        }

        if (_failed)
        {
            throw new InvalidOperationException($"Pipeline '{_plan.Id}' has FAILED ({_failureReason}); it takes no savepoints.");
        }

        if (_stopped)
        {
            throw new InvalidOperationException($"Pipeline '{_plan.Id}' is not running ({_stopReason}); it takes no savepoints.");
        }

        if (_savepointRequests.Contains(name) || _pending?.Savepoint == name || await store.ExistsAsync(SavepointLayout.Metadata(_plan.Id, name)))
        {
            throw new ArgumentException($"Pipeline '{_plan.Id}' already has a savepoint named '{name}'.", nameof(name));
        }

        _savepointFailures.Remove(name);
        _savepointRequests.Enqueue(name);
    }

    public async Task<IReadOnlyList<SavepointInfo>> GetSavepointsAsync()
    {
        var list = new List<SavepointInfo>();
        var prefix = SavepointLayout.Folder(_plan.Id);
        foreach (var path in await store.ListAsync(prefix))
        {
            if (!path.EndsWith("/_metadata", StringComparison.Ordinal) || await catalog.GetAsync(path) is not { } metadata)
            {
                continue;
            }

            var name = path[prefix.Length..^"/_metadata".Length];
            list.Add(new SavepointInfo(name, CheckpointState.Completed, metadata.CheckpointId, metadata.CompletedAt, metadata.Tasks.Sum(t => t.Bytes), null));
        }

        foreach (var name in _savepointRequests.Concat(_pending?.Savepoint is { } pending ? [pending] : []))
        {
            list.Add(new SavepointInfo(name, CheckpointState.InProgress, 0, DateTimeOffset.UtcNow, 0, null));
        }

        foreach (var (name, failure) in _savepointFailures)
        {
            list.Add(new SavepointInfo(name, CheckpointState.Failed, 0, DateTimeOffset.UtcNow, 0, failure));
        }

        return list;
    }

    private string? NextSavepointRequest() => _savepointRequests.TryDequeue(out var name) ? name : null;

    /// <summary>Copies the completed checkpoint's blobs into the savepoint's folder, then commits the savepoint's metadata.</summary>
    private async Task WriteSavepointAsync(string name, CheckpointMetadata checkpoint)
    {
        try
        {
            var tasks = new List<TaskState>(checkpoint.Tasks.Count);
            foreach (var task in checkpoint.Tasks)
            {
                string? copy = null;
                if (task.BlobPath is { } path)
                {
                    copy = SavepointLayout.TaskBlob(_plan.Id, name, task.Stage, task.Task);
                    var blob = await store.GetAsync(path) ?? throw new InvalidOperationException($"{path} vanished before the savepoint copied it");
                    await store.PutAsync(copy, blob);
                }

                tasks.Add(task with { BlobPath = copy });
            }

            var metadata = checkpoint with { Tasks = tasks };
            if (!await store.CommitAsync(SavepointLayout.Metadata(_plan.Id, name), JsonSerializer.SerializeToUtf8Bytes(metadata, CheckpointJson.Default.CheckpointMetadata)))
            {
                _savepointFailures[name] = "a savepoint of this name was written meanwhile";
            }
        }
        catch (Exception ex) when (ex is CheckpointStoreException or InvalidOperationException)
        {
            _savepointFailures[name] = $"copying checkpoint {checkpoint.CheckpointId}: {ex.Message}";
        }
    }

    private async Task<SavepointStart?> FindSavepointAsync(string name) =>
        SavepointLayout.IsValidName(name) && await catalog.GetAsync(SavepointLayout.Metadata(_plan.Id, name)) is { } metadata
            ? new SavepointStart(name, metadata.CheckpointId)
            : null;

    private sealed record SavepointStart(string Name, long CheckpointId);
}

/// <summary>Where savepoints live: "{pipeline}/savepoints/{name}/_metadata" and one blob per task with state.</summary>
internal static partial class SavepointLayout
{
    public static string Folder(string pipeline) => $"{pipeline}/savepoints/";

    public static string Metadata(string pipeline, string name) => $"{Folder(pipeline)}{name}/_metadata";

    public static string TaskBlob(string pipeline, string name, int stage, int task) => $"{Folder(pipeline)}{name}/{stage}-{task}";

    public static bool IsValidName(string? name) => name is not null && ValidName().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex ValidName();
}
