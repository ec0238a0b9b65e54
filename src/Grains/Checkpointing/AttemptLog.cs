using System.Globalization;
using System.Text.Json;
using Sluice.Storage;

namespace Sluice.Checkpointing;

/// <summary>
/// The start of one pipeline attempt, stored as "{pipeline}/attempts/{n}" and created once, so attempt numbers
/// only grow, even across coordinator activations and cluster restarts.
/// </summary>
/// <param name="Attempt">The attempt number.</param>
/// <param name="Floor">The lowest checkpoint id this run may restore from (checkpoints of an earlier run the pipeline chose not to resume from are below it).</param>
/// <param name="Silos">Silos active when the attempt started; a coordinator that finds one of them still active knows it continues the same run.</param>
/// <param name="RestoredFrom">The checkpoint the attempt restored (0: the sources' start).</param>
/// <param name="Restarts">Restarts since the run started.</param>
/// <param name="RestartsInRow">Restarts since the last completed checkpoint (for the restart limit).</param>
/// <param name="Reason">Why the attempt started.</param>
internal sealed record AttemptMarker(
    long Attempt,
    long Floor,
    IReadOnlyList<string> Silos,
    long RestoredFrom,
    int Restarts,
    int RestartsInRow,
    DateTimeOffset StartedAt,
    string Reason);

/// <summary>Reads and appends the attempt markers of one pipeline.</summary>
internal sealed class AttemptLog(ICheckpointStore store, string pipeline)
{
    private const int Kept = 20;

    public async Task<AttemptMarker?> LatestAsync()
    {
        foreach (var attempt in (await ListAsync()).OrderDescending())
        {
            var bytes = await store.GetAsync(CheckpointLayout.Attempt(pipeline, attempt));
            if (bytes is null)
            {
                continue;
            }

            try
            {
                return JsonSerializer.Deserialize(bytes, CheckpointJson.Default.AttemptMarker);
            }
            catch (JsonException)
            {
                // A marker is written whole or not at all; an unreadable one came from another build. The next is older.
            }
        }

        return null;
    }

    /// <summary>Creates the marker of the next attempt after <paramref name="marker"/>'s number (or later, if another coordinator took it) and returns it.</summary>
    public async Task<AttemptMarker> AppendAsync(AttemptMarker marker)
    {
        var next = marker;
        for (var tries = 0; tries < 100; tries++)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(next, CheckpointJson.Default.AttemptMarker);
            if (await store.CommitAsync(CheckpointLayout.Attempt(pipeline, next.Attempt), bytes))
            {
                await TrimAsync(next.Attempt);
                return next;
            }

            next = next with { Attempt = next.Attempt + 1 };
        }

        throw new InvalidOperationException($"Could not create an attempt marker for pipeline '{pipeline}' after 100 tries; something else keeps creating them.");
    }

    private async Task<List<long>> ListAsync()
    {
        var prefix = CheckpointLayout.Attempts(pipeline);
        var attempts = new List<long>();
        foreach (var path in await store.ListAsync(prefix))
        {
            if (long.TryParse(path.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var attempt))
            {
                attempts.Add(attempt);
            }
        }

        return attempts;
    }

    private async Task TrimAsync(long newest)
    {
        try
        {
            foreach (var attempt in await ListAsync())
            {
                if (attempt <= newest - Kept)
                {
                    await store.DeleteAsync(CheckpointLayout.Attempt(pipeline, attempt));
                }
            }
        }
        catch (CheckpointStoreException)
        {
            // Old markers are only clutter; the next attempt trims them.
        }
    }
}
