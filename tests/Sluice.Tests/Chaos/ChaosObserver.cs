using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Azure.Data.Tables;

namespace Sluice.Tests.Chaos;

/// <summary>
/// Watches a chaos run from outside, twice a second, and remembers when each thing was first seen: checkpoints (the
/// admin API of any live silo, and <c>_metadata</c> files in the checkpoint folder, which outlive the coordinator's
/// silo), pipeline attempts (the API's <c>recovery</c> and the attempt markers in the checkpoint folder), committed
/// output files, and silos the membership table declares dead.
/// </summary>
internal sealed class ChaosObserver : IAsyncDisposable
{
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(500);

    private readonly string _pipeline;
    private readonly string _checkpointRoot;
    private readonly string _outputRoot;
    private readonly Func<IReadOnlyList<SiloProcess>> _liveSilos;
    private readonly TableClient _membership;
    private readonly string _clusterId;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    public ChaosObserver(
        string pipeline, string checkpointRoot, string outputRoot, Func<IReadOnlyList<SiloProcess>> liveSilos, string membershipConnectionString, string clusterId)
    {
        _pipeline = pipeline;
        _checkpointRoot = checkpointRoot;
        _outputRoot = outputRoot;
        _liveSilos = liveSilos;
        // Orleans' default membership table name; rows are partitioned by cluster id.
        _membership = new TableServiceClient(membershipConnectionString).GetTableClient("OrleansSiloInstances");
        _clusterId = clusterId;
        _run = Task.Run(() => RunAsync(_stop.Token));
    }

    /// <summary>Checkpoint id -> (state, start, duration) as the coordinator last reported it through the API.</summary>
    public ConcurrentDictionary<long, (string State, DateTimeOffset StartedAt, long DurationMs, string? Failure)> ApiCheckpoints { get; } = new();

    /// <summary>Checkpoint id -> when its <c>_metadata</c> (the commit point) was first seen in the folder.</summary>
    public ConcurrentDictionary<long, DateTimeOffset> CompletedInFolder { get; } = new();

    /// <summary>Attempt number -> what its marker says (when it started, the checkpoint it restored, why).</summary>
    public ConcurrentDictionary<long, AttemptSeen> Attempts { get; } = new();

    /// <summary>Committed output file -> when it was first seen.</summary>
    public ConcurrentDictionary<string, DateTimeOffset> CommittedFiles { get; } = new(StringComparer.Ordinal);

    /// <summary>Silo port -> when the membership table first showed it Dead.</summary>
    public ConcurrentDictionary<int, DateTimeOffset> DeclaredDead { get; } = new();

    /// <summary>The API's "recovery" object of the pipeline as last read (null until the API reports one).</summary>
    public string? LastRecovery { get; private set; }

    /// <summary>The pipeline's status as last read from the API ("Running", "Failed", ...).</summary>
    public string? LastStatus { get; private set; }

    public long LastRecordsIn { get; private set; }

    /// <summary>Records the current run dropped as late, as last read (the test's disorder stays inside the bound, so 0).</summary>
    public long LastLateRecordsDropped { get; private set; }

    /// <summary>Per source partition and per stage progress as last read (what holds a watermark back, what stalls).</summary>
    public IReadOnlyList<string> LastProgress { get; private set; } = [];

    /// <summary>The pipeline's last error as the API reports it.</summary>
    public string? LastError { get; private set; }

    /// <summary>Times and records-in readings, to see when records flow again after a kill.</summary>
    public ConcurrentQueue<(DateTimeOffset At, long RecordsIn)> RecordsIn { get; } = new();

    public string? LastObservationError { get; private set; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _run;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    /// <summary>
    /// What followed a kill at <paramref name="killedAt"/>: the membership table's verdict on <paramref name="siloPort"/>,
    /// the first attempt started after the kill, the first checkpoint started after that attempt began (it completing
    /// means the restarted pipeline is whole again) and the first output committed by such a checkpoint.
    /// </summary>
    public KillRecovery RecoveryAfter(DateTimeOffset killedAt, int siloPort)
    {
        var dead = DeclaredDead.TryGetValue(siloPort, out var d) ? d : (DateTimeOffset?)null;
        var restart = Attempts.Where(a => a.Value.StartedAt > killedAt).OrderBy(a => a.Value.StartedAt).Select(a => (long?)a.Key).FirstOrDefault();
        var resumedFrom = restart is { } r ? Attempts[r].StartedAt : killedAt;
        var checkpoint = ApiCheckpoints
            .Where(c => c.Value.State == "Completed" && c.Value.StartedAt >= resumedFrom)
            .OrderBy(c => c.Key)
            .Select(c => ((long Id, DateTimeOffset At)?)(c.Key, c.Value.StartedAt.AddMilliseconds(c.Value.DurationMs)))
            .FirstOrDefault();
        // Without the API's history (the coordinator's silo may have died), the folder's first commit point after the restart.
        checkpoint ??= CompletedInFolder.Where(c => c.Value > resumedFrom && (restart is null || c.Key > Attempts[restart.Value].RestoredFrom))
            .OrderBy(c => c.Key).Select(c => ((long, DateTimeOffset)?)(c.Key, c.Value)).FirstOrDefault();
        var output = checkpoint is { } cp
            ? CommittedFiles.Where(f => CommittedOutput.CheckpointOf(f.Key) >= cp.Id).Select(f => (DateTimeOffset?)f.Value).Min()
            : null;
        return new KillRecovery(
            killedAt,
            dead,
            restart,
            restart is { } n ? Attempts[n] : null,
            checkpoint?.Id,
            checkpoint?.At,
            output);
    }

    /// <summary>One pass now (also used for the final reading after the run).</summary>
    public async Task ObserveOnceAsync(CancellationToken cancel)
    {
        var now = DateTimeOffset.UtcNow;
        ScanFolders(now);
        await ReadApiAsync(cancel);
        await ReadMembershipAsync(now, cancel);
    }

    private async Task RunAsync(CancellationToken cancel)
    {
        using var timer = new PeriodicTimer(Period);
        while (await timer.WaitForNextTickAsync(cancel))
        {
            try
            {
                await ObserveOnceAsync(cancel);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LastObservationError = e.Message;
            }
        }
    }

    private void ScanFolders(DateTimeOffset now)
    {
        var pipelineFolder = Path.Combine(_checkpointRoot, _pipeline);
        if (Directory.Exists(pipelineFolder))
        {
            foreach (var folder in Directory.EnumerateDirectories(pipelineFolder, "chk-*"))
            {
                if (long.TryParse(Path.GetFileName(folder)["chk-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                    && File.Exists(Path.Combine(folder, "_metadata")))
                {
                    CompletedInFolder.TryAdd(id, now);
                }
            }

            var attempts = Path.Combine(pipelineFolder, "attempts");
            if (Directory.Exists(attempts))
            {
                foreach (var marker in Directory.EnumerateFiles(attempts))
                {
                    if (long.TryParse(Path.GetFileName(marker), NumberStyles.None, CultureInfo.InvariantCulture, out var attempt) && !Attempts.ContainsKey(attempt))
                    {
                        Attempts.TryAdd(attempt, ReadMarker(marker, now));
                    }
                }
            }
        }

        foreach (var file in CommittedOutput.Files(_outputRoot))
        {
            CommittedFiles.TryAdd(Path.GetRelativePath(_outputRoot, file), now);
        }
    }

    /// <summary>Reads an attempt marker (the engine's JSON; fields matched case-insensitively, absent ones left empty).</summary>
    private static AttemptSeen ReadMarker(string path, DateTimeOffset now)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            JsonElement? Field(string name) =>
                doc.RootElement.EnumerateObject().Where(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)).Select(p => (JsonElement?)p.Value).FirstOrDefault();
            var startedAt = Field("StartedAt") is { ValueKind: JsonValueKind.String } s && s.TryGetDateTimeOffset(out var t) ? t : now;
            var restoredFrom = Field("RestoredFrom") is { ValueKind: JsonValueKind.Number } r ? r.GetInt64() : -1;
            return new AttemptSeen(now, startedAt, restoredFrom, Field("Reason")?.ToString() ?? "(no reason recorded)");
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return new AttemptSeen(now, now, -1, $"(marker not readable: {e.Message})");
        }
    }

    private async Task ReadApiAsync(CancellationToken cancel)
    {
        foreach (var silo in _liveSilos().Where(s => s.IsAlive))
        {
            try
            {
                using (var history = JsonDocument.Parse(await silo.Http.GetStringAsync($"/api/pipelines/{_pipeline}/checkpoints", cancel)))
                {
                    foreach (var c in history.RootElement.EnumerateArray())
                    {
                        var failure = c.TryGetProperty("failure", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
                        ApiCheckpoints[c.GetProperty("id").GetInt64()] = (
                            c.GetProperty("state").ToString(),
                            c.GetProperty("startedAt").GetDateTimeOffset(),
                            c.GetProperty("durationMilliseconds").GetInt64(),
                            failure);
                    }
                }

                using var status = JsonDocument.Parse(await silo.Http.GetStringAsync($"/api/pipelines/{_pipeline}", cancel));
                LastStatus = status.RootElement.GetProperty("status").GetString();
                LastRecordsIn = status.RootElement.GetProperty("recordsIn").GetInt64();
                LastLateRecordsDropped = status.RootElement.GetProperty("lateRecordsDropped").GetInt64();
                LastError = status.RootElement.TryGetProperty("lastError", out var error) && error.ValueKind == JsonValueKind.String ? error.GetString() : null;
                LastProgress = Progress(status.RootElement);
                RecordsIn.Enqueue((DateTimeOffset.UtcNow, LastRecordsIn));
                if (status.RootElement.TryGetProperty("recovery", out var recovery) && recovery.ValueKind == JsonValueKind.Object)
                {
                    LastRecovery = recovery.GetRawText();
                }

                return; // one live silo answering is enough
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                LastObservationError = $"{silo.Name}: {e.Message}";
            }
        }
    }

    private static List<string> Progress(JsonElement status)
    {
        static string Time(JsonElement e) =>
            e.ValueKind != JsonValueKind.Number ? e.ToString()
            : e.GetInt64() is var ms && ms == long.MinValue ? "none"
            : ms == long.MaxValue ? "end"
            : ms is < 0 or > 253_402_300_799_999 ? ms.ToString(CultureInfo.InvariantCulture)
            : DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);
        var lines = new List<string>();
        if (status.TryGetProperty("sources", out var sources))
        {
            lines.AddRange(sources.EnumerateArray().Select(p =>
                $"source {p.GetProperty("source")} partition {p.GetProperty("partition")}: read {p.GetProperty("recordsRead")}, watermark {Time(p.GetProperty("watermark"))}, "
                + $"idle {p.GetProperty("idle")}, backlog {p.GetProperty("backlog")}, ended {p.GetProperty("ended")}"));
        }

        if (status.TryGetProperty("stages", out var stages))
        {
            lines.AddRange(stages.EnumerateArray().Select(st =>
                $"stage {st.GetProperty("index")} {st.GetProperty("name")}: tasks {st.GetProperty("activeTasks")}/{st.GetProperty("parallelism")}, "
                + $"in {st.GetProperty("recordsIn")}, out {st.GetProperty("recordsOut")}, watermark {Time(st.GetProperty("watermark"))}, state entries {st.GetProperty("stateEntries")}"));
        }

        return lines;
    }

    private async Task ReadMembershipAsync(DateTimeOffset now, CancellationToken cancel)
    {
        try
        {
            await foreach (var row in _membership.QueryAsync<TableEntity>(e => e.PartitionKey == _clusterId, cancellationToken: cancel))
            {
                if (string.Equals(row.GetString("Status"), "Dead", StringComparison.Ordinal)
                    && int.TryParse(row.GetString("Port"), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
                {
                    DeclaredDead.TryAdd(port, now);
                }
            }
        }
        catch (Azure.RequestFailedException e)
        {
            LastObservationError = $"membership table: {e.Message}";
        }
    }
}

/// <summary>One pipeline attempt as its marker in the checkpoint folder describes it.</summary>
internal sealed record AttemptSeen(DateTimeOffset SeenAt, DateTimeOffset StartedAt, long RestoredFrom, string Reason);

/// <summary>Times after one kill; null where the thing was not observed.</summary>
internal sealed record KillRecovery(
    DateTimeOffset KilledAt,
    DateTimeOffset? DeclaredDeadAt,
    long? RestartAttempt,
    AttemptSeen? Restart,
    long? FirstCheckpoint,
    DateTimeOffset? FirstCheckpointCompletedAt,
    DateTimeOffset? FirstOutputAt)
{
    public override string ToString()
    {
        string After(DateTimeOffset? when) => when is { } w ? $"{(w - KilledAt).TotalSeconds:F1} s" : "not seen";
        return $"declared dead {After(DeclaredDeadAt)}; "
            + (Restart is { } r ? $"attempt {RestartAttempt} started {After(r.StartedAt)} from checkpoint {r.RestoredFrom}; " : "no attempt started after it; ")
            + $"first checkpoint of the new run{(FirstCheckpoint is { } id ? $" ({id})" : string.Empty)} completed {After(FirstCheckpointCompletedAt)}; "
            + $"its output committed {After(FirstOutputAt)}";
    }
}
