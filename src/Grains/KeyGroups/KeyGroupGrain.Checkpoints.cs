using System.IO.Hashing;
using Microsoft.Extensions.Logging;
using Sluice.Checkpointing;
using Sluice.Exchange;
using Sluice.Pipelines;
using Sluice.State.Snapshots;
using Sluice.Storage;

namespace Sluice.KeyGroups;

/// <summary>The key group's part in checkpoints and recovery: align, snapshot, upload, ack; restore; restart.</summary>
internal sealed partial class KeyGroupGrain
{
    // Set when this task cannot run the current attempt (its restore failed); cleared by the next reset.
    private bool _failedInAttempt;

    // A reset to this attempt that has not joined and restored yet (it failed half-way): nothing is processed until it has.
    private AttemptDirective? _unfinishedReset;

    // The blob this task last wrote (or restored): a later snapshot with the same bytes points at it.
    private (string Path, int Length, ulong Hash)? _lastUpload;

    // Work this activation started that runs beside processing: snapshots not yet uploaded and acknowledged, failure
    // reports to the coordinator. A deactivation or a move waits for it (or, if it cannot finish, does not carry the
    // task's state).
    private readonly List<Task> _inFlight = [];

    private void RememberUpload(string path, ReadOnlySpan<byte> blob) => _lastUpload = (path, blob.Length, XxHash64.HashToUInt64(blob));

    private ICheckpointProtocolGrain Coordinator => GrainFactory.GetGrain<ICheckpointProtocolGrain>(_plan.Id);

    private TaskIdentity Identity => TaskIdentity.OfTask(_stage.Index, _taskIndex);

    public async Task RestartAsync(AttemptDirective attempt)
    {
        if (attempt.Attempt < _attempt || (attempt.Attempt == _attempt && _unfinishedReset is null))
        {
            return;
        }

        await ResetAsync(attempt);
    }

    public Task NotifyCheckpointCompleteAsync(long checkpointId) => CommitAsync(checkpointId);

    /// <summary>
    /// A message of another attempt: an older one was sent before a restart (in flight, or in a stream cache) and is
    /// dropped; a newer one means the pipeline restarted and this task has not heard yet, so it resets first. A task
    /// whose restore failed drops the messages of its attempt until the restart reaches it.
    /// </summary>
    private async Task HandleOtherAttemptAsync(ChannelBatch batch)
    {
        if (_unfinishedReset is { } unfinished && batch.Attempt == unfinished.Attempt)
        {
            // Finish the reset before anything of its attempt runs; if it fails again, so does this delivery (and it
            // comes again), rather than being processed on empty state or dropped.
            await ResetAsync(unfinished);
        }

        if (batch.Attempt > _attempt)
        {
            var directive = await Coordinator.GetDirectiveAsync();
            if (directive.Attempt > _attempt)
            {
                await ResetAsync(directive);
            }
        }

        if (batch.Attempt == _attempt && !_failedInAttempt)
        {
            await HandleAsync(batch);
            return;
        }

        Diagnostics.SluiceInstruments.StaleMessagesDropped.Add(1);
    }

    /// <summary>
    /// Builds the task afresh for <paramref name="attempt"/>, joins it and restores its checkpoint, as one step: until
    /// all three are done the reset is unfinished, and the task processes nothing (its state is empty, not restored);
    /// the next delivery, tick or restart call finishes it.
    /// </summary>
    private async Task ResetAsync(AttemptDirective attempt)
    {
        _logger.LogInformation("{Task} resets to attempt {Attempt} from checkpoint {Checkpoint}", _name, attempt.Attempt, attempt.RestoreFrom);
        _unfinishedReset = attempt;
        Build(attempt.Attempt);
        await Coordinator.JoinAsync(Identity, activation: false);
        await RestoreAsync(attempt);
        _unfinishedReset = null;
    }

    /// <summary>A reset that failed half-way (e.g. the coordinator unreachable) is tried again; false while it is unfinished.</summary>
    private async Task<bool> TryFinishResetAsync()
    {
        if (_unfinishedReset is not { } unfinished)
        {
            return true;
        }

        try
        {
            await ResetAsync(unfinished);
            return true;
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "{Task} could not finish its reset to attempt {Attempt}; trying again", _name, unfinished.Attempt);
            return false;
        }
    }

    /// <summary>
    /// The sink's parallelism was lowered since the checkpoint: its tasks at or above the new parallelism no longer exist,
    /// and task <c>i</c> takes over those with index <c>i</c> modulo the parallelism, committing their pending epochs as
    /// they would have (Flink redistributes a sink's committables the same way).
    /// </summary>
    private async Task AdoptRetiredSinkTasksAsync(CheckpointMetadata checkpoint, long checkpointId)
    {
        foreach (var retired in checkpoint.Tasks)
        {
            if (retired.Stage != _stage.Index || retired.Task < _stage.Parallelism || retired.Task % _stage.Parallelism != _taskIndex || retired.BlobPath is not { } path)
            {
                continue;
            }

            var blob = await catalog.Store.GetAsync(path)
                ?? throw new SnapshotCorruptedException($"checkpoint {checkpointId} names {path}, which the store does not have");
            _task.AdoptRetired(retired.Task, blob);
            _logger.LogInformation(
                "{Task} took over sink task {Retired} of checkpoint {Checkpoint} (the sink has {Parallelism} tasks now); it holds {Entries} pending epochs",
                _name, retired.Task, checkpointId, _stage.Parallelism, _task.StateEntries);
        }
    }

    /// <summary>
    /// Loads this task's state from the checkpoint the attempt restores (none: starts empty). A blob that is missing
    /// or corrupted makes the coordinator restart from the checkpoint before; one of another schema fails the pipeline.
    /// </summary>
    private async Task RestoreAsync(AttemptDirective attempt)
    {
        if (attempt.RestoreMetadata is not { } metadata)
        {
            return;
        }

        var checkpointId = attempt.RestoreFrom;
        try
        {
            var checkpoint = await catalog.GetAsync(metadata)
                ?? throw new SnapshotCorruptedException($"{metadata} is missing or unreadable");
            var state = checkpoint.Tasks.FirstOrDefault(t => t.Stage == _stage.Index && t.Task == _taskIndex);
            if (state?.BlobPath is { } path)
            {
                var blob = await catalog.Store.GetAsync(path)
                    ?? throw new SnapshotCorruptedException($"checkpoint {checkpointId} names {path}, which the store does not have");
                _task.Restore(blob);
                RememberUpload(path, blob);
                _logger.LogInformation("{Task} restored {Entries} state entries from checkpoint {Checkpoint}", _name, _task.StateEntries, checkpointId);
            }

            if (_stage.Kind == StageKind.Sink)
            {
                await AdoptRetiredSinkTasksAsync(checkpoint, checkpointId);
            }

            if (state?.Watermark is { } watermark && watermark > long.MinValue)
            {
                // Time never goes back: the inputs restart below this watermark (fresh channels, restored sources), and
                // a record that was late before the failure must still be late, or its window would fire again.
                _gate.RestoreWatermark(watermark);
                _task.OnWatermark(watermark);
            }

            await CommitAsync(checkpointId);
        }
        catch (Exception ex) when (ex is SnapshotCorruptedException or SnapshotSchemaMismatchException or CheckpointStoreException)
        {
            // Process nothing more in this attempt (it will not last: the coordinator restarts) and tell it why.
            _failedInAttempt = true;
            var kind = ex switch
            {
                SnapshotCorruptedException => RestoreFailure.CorruptCheckpoint,
                SnapshotSchemaMismatchException => RestoreFailure.Fatal,
                _ => RestoreFailure.None,
            };
            _logger.LogError(ex, "{Task} could not restore checkpoint {Checkpoint}", _name, checkpointId);
            await ReportFailureAsync($"restoring checkpoint {checkpointId}: {ex.Message}", kind);
        }
    }

    /// <summary>
    /// Commits the output of checkpoints up to <paramref name="checkpointId"/>. A commit that fails stays pending, with every
    /// later epoch, in the task's state: the next completed checkpoint, or a restore, commits them in order. One that can
    /// never succeed (<see cref="Functions.UnrecoverableSinkException"/>) fails the pipeline with its reason.
    /// </summary>
    private async Task CommitAsync(long checkpointId)
    {
        try
        {
            await _task.NotifyCheckpointCompleteAsync(checkpointId);
        }
        catch (Functions.UnrecoverableSinkException ex) when (_plan.Options.CheckpointInterval is not null)
        {
            _errors.Note(ex, $"committing the output of checkpoint {checkpointId}");
            _failedInAttempt = true;
            await ReportFailureAsync($"committing the output of checkpoint {checkpointId} cannot succeed: {ex.Message}", RestoreFailure.Fatal);
        }
        catch (Exception ex)
        {
            _errors.Note(ex, $"committing the output of checkpoint {checkpointId}");
        }
    }

    /// <summary>Tells the coordinator this task failed in its attempt (a report that does not arrive is sent again).</summary>
    private Task ReportFailureAsync(string reason, RestoreFailure kind) => _failureReports.ReportAsync(_attempt, reason, kind);

    /// <summary>
    /// A sender gave a channel up after its retries, dropping what it had queued: without checkpoints that is reported
    /// (at most once is all that is left); with them the task fails and the pipeline restarts, replaying what was dropped.
    /// </summary>
    private void OnChannelFailed(string reason)
    {
        _errors.Note(new InvalidOperationException(reason), "sending downstream");
        if (_plan.Options.CheckpointInterval is not null)
        {
            Own(ReportFailureAsync(reason, RestoreFailure.None));
        }
    }

    /// <summary>
    /// Messages are missing before <paramref name="batch"/> on its channel (a delivery given up, a sender replaced mid-way).
    /// With checkpoints the task fails and the pipeline restarts from the last one, which replays what is missing; without
    /// them nothing can bring it back, so the batch is processed and the loss counted.
    /// </summary>
    private Task OnGapAsync(ChannelBatch batch)
    {
        Diagnostics.SluiceInstruments.ExchangeGaps.Add(1);
        if (_plan.Options.CheckpointInterval is null)
        {
            _logger.LogWarning("{Task}: messages missing before {Batch}; without checkpoints they are lost", _name, batch);
            return HandleAcceptedAsync(batch);
        }

        return FailInAttemptAsync($"messages missing before {batch} on channel {batch.Channel}");
    }

    /// <summary>Processes nothing more in this attempt and reports the failure (the coordinator restarts the pipeline).</summary>
    private async Task FailInAttemptAsync(string reason)
    {
        _failedInAttempt = true;
        _logger.LogError("{Task} fails attempt {Attempt}: {Reason}", _name, _attempt, reason);
        await ReportFailureAsync(reason, RestoreFailure.None);
    }

    /// <summary>
    /// Unexpected failures of the engine while handling a message fail the task: the pipeline restarts. So does a user
    /// function's failure under <see cref="ErrorPolicy.Fail"/> (see <see cref="FailOnUserErrorAsync"/>).
    /// </summary>
    private Task Guard(Task handling)
    {
        return handling.IsCompletedSuccessfully ? handling : AwaitGuardedAsync(handling);

        async Task AwaitGuardedAsync(Task pending)
        {
            try
            {
                await pending;
            }
            catch (Tasks.UserFunctionException ex) when (_unfinishedReset is null)
            {
                await FailOnUserErrorAsync(ex);
            }
            catch (Exception ex) when (_plan.Options.CheckpointInterval is not null && _unfinishedReset is null)
            {
                // (While a reset is unfinished the delivery fails instead, and its sender delivers it again.)
                _logger.LogError(ex, "{Task} failed", _name);
                await ReportFailureAsync(ex.Message, RestoreFailure.None);
            }
        }
    }

    /// <summary>
    /// Every input delivered Barrier(n): copy the state, pass the barrier on, release the held messages and
    /// upload the copy in the background (processing does not wait for the store).
    /// </summary>
    private async Task CompleteAlignmentAsync()
    {
        var checkpoint = _gate.AligningCheckpoint;
        var alignment = Now() - _gate.AlignmentStartedAt;
        Task<byte[]?> state;
        try
        {
            state = _task.SnapshotAsync(checkpoint);
        }
        catch (Exception ex)
        {
            state = Task.FromException<byte[]?>(ex);
        }

        foreach (var sender in _senders)
        {
            sender.Barrier(checkpoint);
        }

        Own(UploadAndAcknowledgeAsync(_attempt, checkpoint, state, alignment, _gate.Watermark));
        foreach (var held in _gate.Release())
        {
            await HandleAcceptedAsync(held);
        }
    }

    /// <summary>Keeps <paramref name="work"/>, started beside processing, until it completes (see <see cref="DrainInFlightAsync"/>).</summary>
    private void Own(Task work)
    {
        _inFlight.RemoveAll(static t => t.IsCompleted);
        if (!work.IsCompleted)
        {
            _inFlight.Add(work);
        }
    }

    /// <summary>
    /// Waits until every snapshot this activation took is uploaded and acknowledged (a transactional sink's epoch staged)
    /// and every failure it reported has reached the coordinator, or <paramref name="cancellationToken"/> gives up (the
    /// deactivation timed out). True when nothing is left.
    /// </summary>
    private async Task<bool> DrainInFlightAsync(CancellationToken cancellationToken)
    {
        _inFlight.RemoveAll(static t => t.IsCompleted);
        if (_inFlight.Count == 0)
        {
            return true;
        }

        _logger.LogInformation("{Task} deactivates with {Count} snapshot(s) or report(s) in flight; waiting for them", _name, _inFlight.Count);
        try
        {
            await Task.WhenAll(_inFlight).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            _logger.LogWarning("{Task} deactivated before its snapshots were uploaded; the checkpoints they belong to fail", _name);
            return false;
        }

        _inFlight.Clear();
        return true;
    }

    private async Task UploadAndAcknowledgeAsync(long attempt, long checkpoint, Task<byte[]?> snapshot, long alignment, long watermark)
    {
        string? path = null;
        string? failure = null;
        byte[]? state = null;
        try
        {
            state = await snapshot;
        }
        catch (Exception ex)
        {
            // A transactional sink that could not stage its epoch has lost those records from memory; only a restart
            // (replaying them from the checkpoint) gets them back. Window state failing to serialise is a task failure too.
            failure = $"snapshot failed: {ex.Message}";
            if (attempt == _attempt)
            {
                _logger.LogError(ex, "{Task} could not snapshot checkpoint {Checkpoint}", _name, checkpoint);
                await ReportFailureAsync($"snapshot of checkpoint {checkpoint} failed: {ex.Message}", RestoreFailure.None);
            }
        }

        var reused = false;
        if (state is not null && failure is null)
        {
            if (_lastUpload is { } last && last.Length == state.Length && last.Hash == XxHash64.HashToUInt64(state))
            {
                // Incremental: unchanged since the last upload, so this checkpoint points at that blob.
                path = last.Path;
                reused = true;
            }
            else
            {
                path = CheckpointLayout.TaskBlob(_plan.Id, checkpoint, _stage.Index, _taskIndex);
                try
                {
                    await catalog.Store.PutAsync(path, state);
                    if (attempt == _attempt)
                    {
                        RememberUpload(path, state);
                    }
                }
                catch (Exception ex)
                {
                    failure = $"upload of {path} failed: {ex.Message}";
                }
            }
        }

        try
        {
            await Coordinator.AckTaskAsync(new TaskCheckpointAck(attempt, checkpoint, _stage.Index, _taskIndex, path, state?.Length ?? 0, alignment, failure) { Reused = reused, Watermark = watermark });
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Could not acknowledge checkpoint {Checkpoint} of {Task}", checkpoint, this.GetPrimaryKeyString());
        }
    }
}
