using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Sluice.Grains;
using Sluice.Migration;
using Sluice.Pipelines;
using Sluice.Storage;

namespace Sluice.Checkpointing;

/// <summary>
/// Runs a pipeline's checkpoints (asynchronous barrier snapshotting): on each interval it opens checkpoint n,
/// sources inject Barrier(n) and report their positions, every task aligns its inputs, snapshots, uploads
/// and acks; when all have acked, <c>_metadata</c> is committed last, so only complete checkpoints exist.
/// One checkpoint at a time; one that outlives the timeout fails and is counted. Keeps the last K.
/// </summary>
[Orleans.Placement.Immovable] // moved only by Sluice's planned moves (Migration/), never by Orleans on its own; see PlannedShutdown
internal sealed partial class CheckpointCoordinatorGrain(
    PipelineRegistry registry, CheckpointCatalog catalog, IClusterMembershipService membership, LocalMovableGrains movable, ILocalSiloDetails silo, ILogger<CheckpointCoordinatorGrain> logger)
    : Grain, ICheckpointCoordinatorGrain, ICheckpointProtocolGrain
{
    private ICheckpointStore store = null!;
    private const int HistoryLength = 50;
    private readonly List<CheckpointInfo> _history = [];
    private readonly List<long> _completed = [];
    private PipelinePlan _plan = null!;
    private PendingCheckpoint? _pending;
    private long _lastId;
    private DateTimeOffset _lastFinishedAt = DateTimeOffset.MinValue;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _plan = registry.Get(this.GetPrimaryKeyString());
        if (_plan.Options.CheckpointInterval is not { } interval)
        {
            return;
        }

        store = catalog.Store;

        if (!ResumeMigrated())
        {
            // Continue numbering after every id the store has seen (complete or not), so a new coordinator never
            // reuses one: a transactional sink's part files are named after the checkpoint that commits them.
            var (completed, highest) = await catalog.ListAsync(_plan.Id);
            _completed.AddRange(completed);
            _lastId = highest;
            await StartFirstAttemptAsync();
        }

        movable.AddCoordinator(_plan.Id);
        var tick = TimeSpan.FromMilliseconds(Math.Max(50, interval.TotalMilliseconds / 4));
        this.RegisterGrainTimer(TickAsync, new GrainTimerCreationOptions(tick, tick) { Interleave = false, KeepAlive = true });
    }


    public Task<IReadOnlyList<CheckpointInfo>> GetHistoryAsync()
    {
        var list = new List<CheckpointInfo>(_history);
        if (_pending is { } p)
        {
            list.Add(new CheckpointInfo(p.Id, CheckpointState.InProgress, p.StartedAt, (long)(DateTimeOffset.UtcNow - p.StartedAt).TotalMilliseconds, p.Bytes, p.MaxAlignment, null));
        }

        return Task.FromResult<IReadOnlyList<CheckpointInfo>>(list);
    }

    public Task<QueryableState.QueryFence> GetQueryFenceAsync() =>
        Task.FromResult(new QueryableState.QueryFence(_attempt, _completed.Count == 0 ? 0 : _completed.Max(), Ending: _restartAt is not null));

    public Task AckSourceAsync(long attempt, long checkpointId, int source, int partition, long position, long watermark, bool idle)
    {
        if (_pending is { } p && p.Id == checkpointId && attempt == _attempt)
        {
            p.Sources[(source, partition)] = (position, watermark, idle);
            return CompleteIfDoneAsync();
        }

        return Task.CompletedTask;
    }

    public Task AckTaskAsync(TaskCheckpointAck ack)
    {
        if (_pending is not { } p || p.Id != ack.CheckpointId || ack.Attempt != _attempt)
        {
            return Task.CompletedTask;
        }

        if (ack.Failure is not null)
        {
            FailCheckpoint(p, $"task {ack.Stage}/{ack.Task}: {ack.Failure}");
            return Task.CompletedTask;
        }

        p.Tasks[(ack.Stage, ack.Task)] = ack;
        p.Bytes += ack.Reused ? 0 : ack.Bytes; // the checkpoint's size is what it uploaded
        p.MaxAlignment = Math.Max(p.MaxAlignment, ack.AlignmentMilliseconds);
        return CompleteIfDoneAsync();
    }

    private async Task TickAsync(CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        WatchMembership();
        if (_failed || _stopped)
        {
            return;
        }

        if (_restartAt is { } restartAt)
        {
            if (now >= restartAt)
            {
                await RestartNowAsync();
            }

            return;
        }

        if (_pending is { } p)
        {
            if (now - p.StartedAt > _plan.Options.CheckpointTimeout)
            {
                FailCheckpoint(p, $"timed out after {_plan.Options.CheckpointTimeout} ({p.Sources.Count}/{p.ExpectedSources} sources, {p.Tasks.Count}/{p.ExpectedTasks} tasks acked)");
            }

            return;
        }

        var savepoint = NextSavepointRequest();
        if (savepoint is not null || now - _lastFinishedAt >= _plan.Options.CheckpointInterval!.Value)
        {
            _pending = new PendingCheckpoint(++_lastId, now, _plan.Sources.Sum(s => s.Partitions), _plan.Stages.Sum(s => s.Parallelism)) { Savepoint = savepoint };
            if (savepoint is not null)
            {
                OnSavepointStarted(savepoint, _pending.Id);
            }

            LogStarted(logger, _plan.Id, _pending.Id);
        }
    }

    private async Task CompleteIfDoneAsync()
    {
        if (_pending is not { } p || p.Sources.Count < p.ExpectedSources || p.Tasks.Count < p.ExpectedTasks)
        {
            return;
        }

        var metadata = new CheckpointMetadata(
            _plan.Id,
            p.Id,
            DateTimeOffset.UtcNow,
            p.Sources.OrderBy(s => s.Key).Select(s => new SourcePosition(s.Key.Source, s.Key.Partition, s.Value.Position, s.Value.Watermark, s.Value.Idle)).ToList(),
            p.Tasks.Values.OrderBy(t => t.Stage).ThenBy(t => t.Task).Select(t => new TaskState(t.Stage, t.Task, t.BlobPath, t.Bytes, t.Watermark)).ToList());
        try
        {
            // The commit point: written last and atomically, so a reader sees a complete checkpoint or none.
            if (!await store.CommitAsync(CheckpointLayout.Metadata(_plan.Id, p.Id), JsonSerializer.SerializeToUtf8Bytes(metadata, CheckpointJson.Default.CheckpointMetadata)))
            {
                FailCheckpoint(p, "its _metadata already existed (another coordinator wrote this id)");
                return;
            }
        }
        catch (CheckpointStoreException ex)
        {
            FailCheckpoint(p, ex.Message);
            return;
        }

        var duration = (long)(DateTimeOffset.UtcNow - p.StartedAt).TotalMilliseconds;
        Record(new CheckpointInfo(p.Id, CheckpointState.Completed, p.StartedAt, duration, p.Bytes, p.MaxAlignment, null));
        LogCompleted(logger, _plan.Id, p.Id, duration, p.Bytes);
        _completed.Add(p.Id);
        OnCheckpointCompleted(p.Id);
        if (p.Savepoint is { } savepoint)
        {
            await WriteSavepointAsync(savepoint, metadata);
            OnSavepointFinished(savepoint);
        }

        await RetainAsync();
    }

    private void FailCheckpoint(PendingCheckpoint p, string reason)
    {
        if (p.Savepoint is { } savepoint)
        {
            _savepointFailures[savepoint] = $"checkpoint {p.Id} failed: {reason}";
        }

        Record(new CheckpointInfo(p.Id, CheckpointState.Failed, p.StartedAt, (long)(DateTimeOffset.UtcNow - p.StartedAt).TotalMilliseconds, p.Bytes, p.MaxAlignment, reason));
        LogFailed(logger, _plan.Id, p.Id, reason);
        if (p.Savepoint is { } failedSavepoint)
        {
            OnSavepointFinished(failedSavepoint);
        }
    }

    private void Record(CheckpointInfo info)
    {
        Diagnostics.SluiceInstruments.RecordCheckpoint(_plan.Id, info, savepoint: _pending?.Savepoint is not null);
        _pending = null;
        _lastFinishedAt = DateTimeOffset.UtcNow;
        _history.Add(info);
        if (_history.Count > HistoryLength)
        {
            _history.RemoveAt(0);
        }
    }

    /// <summary>
    /// Deletes completed checkpoints beyond the last K (a failed one's partial blobs go with the next sweep), except
    /// blobs a kept checkpoint still references.
    /// </summary>
    private async Task RetainAsync()
    {
        var keep = Math.Max(1, _plan.Options.RetainedCheckpoints);
        if (_completed.Count <= keep)
        {
            return;
        }

        var oldestKept = _completed[^keep];
        try
        {
            // Incremental checkpoints point at blobs of earlier ones: those stay while a kept checkpoint names them.
            // The checkpoint the running attempt restored from stays too: tasks that activate later still load it.
            var referenced = new HashSet<string>(StringComparer.Ordinal);
            var keptMetadata = _completed.Where(id => id >= oldestKept).Select(id => CheckpointLayout.Metadata(_plan.Id, id)).ToList();
            if (_restoreMetadata is { } restored)
            {
                keptMetadata.Add(restored);
            }

            foreach (var path in keptMetadata)
            {
                if (await catalog.GetAsync(path) is not { } kept)
                {
                    return; // cannot tell what it references: delete nothing this time
                }

                referenced.Add(path);
                referenced.UnionWith(kept.Tasks.Select(t => t.BlobPath).OfType<string>());
            }

            foreach (var path in await store.ListAsync($"{_plan.Id}/chk-"))
            {
                if (CheckpointCatalog.TryParseId(path, out var id) && id < oldestKept && !referenced.Contains(path))
                {
                    await store.DeleteAsync(path);
                }
            }

            _completed.RemoveAll(id => id < oldestKept && id != _restoreFrom);
        }
        catch (CheckpointStoreException ex)
        {
            logger.LogWarning(ex, "Could not delete old checkpoints of {Pipeline}; retrying after the next checkpoint", _plan.Id);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Pipeline {Pipeline}: checkpoint {Id} started")]
    private static partial void LogStarted(ILogger logger, string pipeline, long id);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pipeline {Pipeline}: checkpoint {Id} completed in {Duration} ms, {Bytes} bytes")]
    private static partial void LogCompleted(ILogger logger, string pipeline, long id, long duration, long bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pipeline {Pipeline}: checkpoint {Id} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string pipeline, long id, string reason);

    private sealed class PendingCheckpoint(long id, DateTimeOffset startedAt, int expectedSources, int expectedTasks)
    {
        public long Id { get; } = id;

        public DateTimeOffset StartedAt { get; } = startedAt;

        public int ExpectedSources { get; } = expectedSources;

        public int ExpectedTasks { get; } = expectedTasks;

        public Dictionary<(int Source, int Partition), (long Position, long Watermark, bool Idle)> Sources { get; } = [];

        public Dictionary<(int Stage, int Task), TaskCheckpointAck> Tasks { get; } = [];

        public long Bytes { get; set; }

        /// <summary>The name of the savepoint this checkpoint becomes when it completes, if it was requested as one.</summary>
        public string? Savepoint { get; init; }

        public long MaxAlignment { get; set; }
    }
}
