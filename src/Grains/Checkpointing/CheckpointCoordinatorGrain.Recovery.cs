using Microsoft.Extensions.Logging;
using Sluice.Grains;
using Sluice.KeyGroups;
using Sluice.Pipelines;

namespace Sluice.Checkpointing;

/// <summary>
/// Recovery: the coordinator owns the pipeline's attempt. A task failure, a silo that died, or a task or source
/// partition that turns up a second time in one attempt (its earlier activation and its state are gone) restarts
/// the pipeline globally: after a backoff, a new attempt restores every task from the last complete checkpoint
/// and every source partition seeks to its recorded position; messages of older attempts are dropped on arrival.
/// </summary>
internal sealed partial class CheckpointCoordinatorGrain
{
    private const int RecoveryTimesKept = 20;
    private readonly HashSet<TaskIdentity> _joined = [];
    private readonly Dictionary<TaskIdentity, SiloAddress> _taskSilos = [];
    private readonly HashSet<long> _unrestorable = [];
    private readonly HashSet<SiloAddress> _activeSilos = [];
    private readonly HashSet<SiloAddress> _leavingSilos = [];
    private readonly List<long> _recoveryTimes = [];
    private AttemptLog _attempts = null!;
    private MembershipVersion _seenMembership = MembershipVersion.MinValue;
    private long _attempt;
    private long _restoreFrom;
    private string? _restoreMetadata;
    private long _floor;
    private int _restarts;
    private int _restartsInRow;
    private DateTimeOffset? _restartAt;
    private DateTimeOffset? _failureDetectedAt;
    private string? _lastRestartReason;
    private bool _failed;
    private string? _failureReason;

    public Task<RecoveryInfo> GetRecoveryAsync() => Task.FromResult(new RecoveryInfo(
        _attempt, _restoreFrom, _restarts, _restartAt is not null, _failed, _failureReason, _lastRestartReason, _recoveryTimes.ToList())
    {
        SourceHandovers = _sourceHandovers,
        Stopped = _stopped,
        StopReason = _stopReason,
        AttemptStartedAt = _attemptStartedAt,
    });

    public Task<AttemptDirective> GetDirectiveAsync() => Task.FromResult(Directive());

    public Task<AttemptDirective> JoinAsync(TaskIdentity identity, bool activation, SiloAddress? silo = null)
    {
        var before = silo is null ? null : _taskSilos.GetValueOrDefault(identity);
        if (silo is not null)
        {
            _taskSilos[identity] = silo;
        }

        if (!_joined.Add(identity) && activation && _restartAt is null)
        {
            RequestRestart($"{identity} was activated again in attempt {_attempt}{(silo is null ? "" : $" on {silo}")}"
                + $"{(before is null ? "" : $" (it ran on {before})")}: its state is gone (its silo failed or it was deactivated)");
        }

        return Task.FromResult(Directive());
    }

    public async Task ReportFailureAsync(long attempt, TaskIdentity identity, string reason, RestoreFailure restoreFailure)
    {
        if (attempt != _attempt || _failed || _stopped)
        {
            return; // about an attempt that is already over (or halted by an operator)
        }

        var what = $"{identity} failed in attempt {attempt}: {reason}";
        switch (restoreFailure)
        {
            case RestoreFailure.Fatal:
                Fail(what);
                break;
            case RestoreFailure.CorruptCheckpoint:
                // The next attempt restores from the newest complete checkpoint that does not name the bad blob.
                var skipped = await MarkUnrestorableAsync(identity);
                RequestRestart($"{what}; checkpoint {_restoreFrom} is not restorable{skipped}");
                break;
            default:
                RequestRestart(what);
                break;
        }
    }

    /// <summary>
    /// Marks the checkpoint being restored unrestorable, and with it every complete checkpoint that names the same blob
    /// for <paramref name="identity"/>: a task whose state did not change reuses its earlier blob, so one corrupted blob
    /// can stand in several checkpoints, and restoring each of them in turn would spend a restart per checkpoint.
    /// </summary>
    private async Task<string> MarkUnrestorableAsync(TaskIdentity identity)
    {
        _unrestorable.Add(_restoreFrom);
        if (identity.IsSource || _restoreMetadata is null
            || await catalog.GetAsync(_restoreMetadata) is not { } restored
            || restored.Tasks.FirstOrDefault(t => t.Stage == identity.Stage && t.Task == identity.Task)?.BlobPath is not { } blob)
        {
            return "";
        }

        var also = new List<long>();
        foreach (var id in _completed)
        {
            if (id != _restoreFrom && !_unrestorable.Contains(id)
                && await catalog.GetAsync(CheckpointLayout.Metadata(_plan.Id, id)) is { } metadata
                && metadata.Tasks.Any(t => t.BlobPath == blob))
            {
                _unrestorable.Add(id);
                also.Add(id);
            }
        }

        return also.Count == 0 ? "" : $" (nor are checkpoints {string.Join(", ", also)}, which name the same blob {blob})";
    }

    private AttemptDirective Directive() => new(_attempt, _restoreFrom, _restoreMetadata, _restartAt is null ? _pending?.Id ?? 0 : 0, _failed)
    {
        LastCompleted = _completed.Count > 0 ? _completed.Max() : 0,
        Stopped = _stopped,
        StopAfterCheckpoint = _stopAfter,
    };

    /// <summary>
    /// The first attempt of this activation. A coordinator that finds the previous attempt's silos still alive was
    /// lost mid-run (its silo died): the tasks that survived hold state of an attempt nobody coordinates any more,
    /// so this is a restart. Otherwise the pipeline starts, from the newest checkpoint if it resumes.
    /// </summary>
    private async Task StartFirstAttemptAsync()
    {
        _attempts = new AttemptLog(store, _plan.Id);
        RememberActiveSilos();
        var previous = await _attempts.LatestAsync();
        var sameRun = previous is not null && previous.Silos.Any(s => _activeSilos.Any(a => a.ToParsableString() == s));
        var savepoint = _plan.Options.StartFromSavepoint;
        _floor = sameRun ? previous!.Floor : _plan.Options.ResumeFromCheckpoint && savepoint is null ? 0 : _lastId + 1;
        if (savepoint is not null)
        {
            // Until this run completes a checkpoint of its own, every attempt restores the savepoint.
            _startSavepoint = await FindSavepointAsync(savepoint);
            if (_startSavepoint is null)
            {
                Fail($"it starts from savepoint '{savepoint}' (PipelineOptions.StartFromSavepoint), which the checkpoint store does not have");
                return;
            }
        }

        if (sameRun)
        {
            _restarts = previous!.Restarts + 1;
            _restartsInRow = previous.RestartsInRow + 1;
            _failureDetectedAt = DateTimeOffset.UtcNow;
            _lastRestartReason = "the checkpoint coordinator was lost (its silo failed) and reactivated";
            Diagnostics.SluiceInstruments.RecordRestart(_plan.Id);
            if (FailedPastRestartLimit(_lastRestartReason))
            {
                return;
            }
        }

        await BeginAttemptAsync(previous?.Attempt ?? 0, sameRun ? _lastRestartReason! : "pipeline started", broadcast: sameRun);
    }

    private void RequestRestart(string reason)
    {
        if (_failed || _stopped || _restartAt is not null)
        {
            return;
        }

        _restarts++;
        _restartsInRow++;
        _lastRestartReason = reason;
        _failureDetectedAt ??= DateTimeOffset.UtcNow;
        if (FailedPastRestartLimit(reason))
        {
            return;
        }

        if (_pending is { } p)
        {
            FailCheckpoint(p, $"aborted: the pipeline restarts ({reason})");
        }

        var backoff = _plan.Options.Restart.BackoffBefore(_restartsInRow);
        _restartAt = DateTimeOffset.UtcNow + backoff;
        Diagnostics.SluiceInstruments.RecordRestart(_plan.Id);
        LogRestartRequested(logger, _plan.Id, _attempt, (long)backoff.TotalMilliseconds, reason);
    }

    private bool FailedPastRestartLimit(string reason)
    {
        var limit = _plan.Options.Restart.MaxRestarts;
        if (_restartsInRow <= limit)
        {
            return false;
        }

        Fail($"{limit} restarts in a row without a completed checkpoint; last failure: {reason}");
        return true;
    }

    private async Task RestartNowAsync()
    {
        try
        {
            await BeginAttemptAsync(_attempt, _lastRestartReason ?? "restart", broadcast: true);
            _restartAt = null;
        }
        catch (Exception ex)
        {
            // The store is unreachable: try again after the same backoff, without counting another restart.
            _restartAt = DateTimeOffset.UtcNow + _plan.Options.Restart.BackoffBefore(_restartsInRow);
            logger.LogWarning(ex, "Pipeline {Pipeline}: could not start a new attempt; retrying", _plan.Id);
        }
    }

    private async Task BeginAttemptAsync(long previousAttempt, string reason, bool broadcast)
    {
        var (restoreFrom, metadata) = await ChooseRestorePointAsync();
        var marker = await _attempts.AppendAsync(new AttemptMarker(
            previousAttempt + 1, _floor, _activeSilos.Select(s => s.ToParsableString()).ToList(), restoreFrom, _restarts, _restartsInRow, DateTimeOffset.UtcNow, reason));
        _attempt = marker.Attempt;
        _restoreFrom = restoreFrom;
        _restoreMetadata = metadata;
        RecordAttempt(restoreFrom, reason);
        _joined.Clear();
        ForgetHandovers();
        LogAttemptStarted(logger, _plan.Id, _attempt, metadata ?? "nothing", reason);
        if (broadcast)
        {
            _ = BroadcastAttemptAsync(Directive()); // a wake-up only: tasks and receivers also poll the directive, so a lost broadcast delays the attempt, never loses it
        }
    }

    /// <summary>
    /// The newest complete checkpoint of this run whose metadata can be read and that no task found corrupted; else the
    /// savepoint the run started from; else nothing (sources from their start).
    /// </summary>
    private async Task<(long Id, string? Metadata)> ChooseRestorePointAsync()
    {
        for (var i = _completed.Count - 1; i >= 0; i--)
        {
            var id = _completed[i];
            if (id < _floor || _unrestorable.Contains(id))
            {
                continue;
            }

            var path = CheckpointLayout.Metadata(_plan.Id, id);
            if (await catalog.GetAsync(path) is not null)
            {
                return (id, path);
            }

            _unrestorable.Add(id);
        }

        return _startSavepoint is { } savepoint ? (savepoint.CheckpointId, SavepointLayout.Metadata(_plan.Id, savepoint.Name)) : (0, null);
    }

    /// <summary>Tells every task of the new attempt; sources learn it from their next directive poll.</summary>
    // A task that missed the call resets itself on the first message of the new attempt.
    private Task BroadcastAttemptAsync(AttemptDirective attempt) =>
        CallTasksAsync(sinksOnly: false, task => task.RestartAsync(attempt), $"attempt {attempt.Attempt}");

    /// <summary>
    /// Calls every task (or every sink task) of the pipeline at once, outside the coordinator's turn; a task that
    /// misses the call is logged, not retried (callers say how it catches up).
    /// </summary>
    private async Task CallTasksAsync(bool sinksOnly, Func<IKeyGroupGrain, Task> call, string what)
    {
        var calls = new List<Task>();
        foreach (var stage in _plan.Stages)
        {
            if (sinksOnly && stage.Kind != StageKind.Sink)
            {
                continue;
            }

            for (var t = 0; t < stage.Parallelism; t++)
            {
                calls.Add(call(GrainFactory.GetGrain<IKeyGroupGrain>(PipelinePlan.TaskKey(_plan.Id, stage.Index, t))));
            }
        }

        try
        {
            await Task.WhenAll(calls);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Pipeline {Pipeline}: not every task heard of {What} directly", _plan.Id, what);
        }
    }

    /// <summary>Tells transactional sinks that checkpoint <paramref name="id"/> completed, so they commit its epoch.</summary>
    private void OnCheckpointCompleted(long id)
    {
        _restartsInRow = 0;
        if (_failureDetectedAt is { } detected)
        {
            _recoveryTimes.Add((long)(DateTimeOffset.UtcNow - detected).TotalMilliseconds);
            Diagnostics.SluiceInstruments.RecordRecovery(_plan.Id, detected, _lastRestartReason, _restarts, failure: null);
            if (_recoveryTimes.Count > RecoveryTimesKept)
            {
                _recoveryTimes.RemoveAt(0);
            }

            _failureDetectedAt = null;
        }

        // A sink that misses it commits the epoch with the next completed checkpoint, or on restore.
        _ = CallTasksAsync(sinksOnly: true, task => task.NotifyCheckpointCompleteAsync(id), $"checkpoint {id} completing"); // lossless: see above
    }

    private void Fail(string reason)
    {
        _failed = true;
        _failureReason = reason;
        _restartAt = null;
        if (_failureDetectedAt is { } detected)
        {
            Diagnostics.SluiceInstruments.RecordRecovery(_plan.Id, detected, _lastRestartReason, _restarts, failure: reason);
        }

        if (_pending is { } p)
        {
            FailCheckpoint(p, $"aborted: the pipeline failed ({reason})");
        }

        LogPipelineFailed(logger, _plan.Id, reason);
    }

    private void RememberActiveSilos()
    {
        var snapshot = membership.CurrentSnapshot;
        _seenMembership = snapshot.Version;
        foreach (var member in snapshot.Members.Values)
        {
            if (member.Status == SiloStatus.Active)
            {
                _activeSilos.Add(member.SiloAddress);
            }
        }
    }

    /// <summary>A silo that was active and is now dead took tasks, source partitions or both with it.</summary>
    private void WatchMembership()
    {
        var snapshot = membership.CurrentSnapshot;
        if (snapshot.Version == _seenMembership)
        {
            return;
        }

        _seenMembership = snapshot.Version;
        foreach (var member in snapshot.Members.Values)
        {
            if (member.Status == SiloStatus.Active)
            {
                if (!_leavingSilos.Contains(member.SiloAddress))
                {
                    _activeSilos.Add(member.SiloAddress); // (a silo this coordinator moved away from may look active here for a moment)
                }
            }
            else if (member.Status is SiloStatus.ShuttingDown or SiloStatus.Stopping && _activeSilos.Remove(member.SiloAddress))
            {
                // A graceful shutdown: its key groups migrate and its source partitions are handed over. Whatever
                // could not move turns up again in this attempt, and that restarts the pipeline.
                _leavingSilos.Add(member.SiloAddress);
            }
            else if (member.Status == SiloStatus.Dead && _activeSilos.Remove(member.SiloAddress))
            {
                RequestRestart($"silo {member.SiloAddress} died");
            }
            else if (member.Status == SiloStatus.Dead)
            {
                _leavingSilos.Remove(member.SiloAddress);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pipeline {Pipeline}: attempt {Attempt} fails; restarting in {Backoff} ms: {Reason}")]
    private static partial void LogRestartRequested(ILogger logger, string pipeline, long attempt, long backoff, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pipeline {Pipeline}: attempt {Attempt} starts from {Restore} ({Reason})")]
    private static partial void LogAttemptStarted(ILogger logger, string pipeline, long attempt, string restore, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Pipeline {Pipeline} FAILED: {Reason}")]
    private static partial void LogPipelineFailed(ILogger logger, string pipeline, string reason);
}
