using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sluice.Grains;
using Sluice.Migration;
using Sluice.Sources;

namespace Sluice.Checkpointing;

/// <summary>
/// The coordinator moves with its silo's graceful shutdown (or a move asked for through MigrateAsync) instead of being lost: it carries
/// the attempt, who joined it, source owners and handovers, checkpoint history and restart bookkeeping, so the new
/// activation continues the same attempt. A checkpoint in flight is recorded as failed (its acks go to the old
/// activation); the next one starts on the next interval.
/// </summary>
internal sealed partial class CheckpointCoordinatorGrain : IGrainMigrationParticipant
{
    private const string MigrationKey = "sluice.coordinator";
    private CoordinatorMigrationState? _carried;
    private bool _migrating;
    private bool _shuttingDown;

    public Task MigrateAsync(SiloAddress target)
    {
        ShutdownMigration.MigrateTo(this, target, ServiceProvider);
        return Task.CompletedTask;
    }

    public Task SiloLeavingAsync(SiloAddress silo)
    {
        if (_leavingSilos.Add(silo))
        {
            _activeSilos.Remove(silo);
            LogSiloLeaving(logger, _plan.Id, silo);
        }

        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        movable.RemoveCoordinator(_plan.Id);
        _shuttingDown = reason.ReasonCode == DeactivationReasonCode.ShuttingDown;
        _migrating = _attempts is not null
            && (reason.ReasonCode == DeactivationReasonCode.Migrating || ShutdownMigration.TryRequest(this, reason, ServiceProvider));
        return Task.CompletedTask;
    }

    public void OnDehydrate(IDehydrationContext dehydrationContext)
    {
        if (!_migrating)
        {
            return;
        }

        if (_pending is { } p)
        {
            FailCheckpoint(p, "aborted: the checkpoint coordinator moved to another silo");
        }

        if (_shuttingDown && _leavingSilos.Add(LocalSilo))
        {
            // This silo is going away: its death later is not a failure (what it held moved, or turns up again).
            _activeSilos.Remove(LocalSilo);
        }

        var state = new CoordinatorMigrationState
        {
            History = [.. _history],
            Completed = [.. _completed],
            LastId = _lastId,
            LastFinishedAt = _lastFinishedAt,
            Joined = [.. _joined],
            Unrestorable = [.. _unrestorable],
            ActiveSilos = [.. _activeSilos],
            LeavingSilos = [.. _leavingSilos],
            RecoveryTimes = [.. _recoveryTimes],
            Attempt = _attempt,
            RestoreFrom = _restoreFrom,
            RestoreMetadata = _restoreMetadata,
            Floor = _floor,
            Restarts = _restarts,
            RestartsInRow = _restartsInRow,
            RestartAt = _restartAt,
            FailureDetectedAt = _failureDetectedAt,
            LastRestartReason = _lastRestartReason,
            Failed = _failed,
            FailureReason = _failureReason,
            SavepointRequests = [.. _savepointRequests],
            SavepointFailures = new(_savepointFailures),
            StartSavepointName = _startSavepoint?.Name,
            StartSavepointId = _startSavepoint?.CheckpointId ?? 0,
            SourceOwners = new(_sourceOwners),
            Handovers = new(_handovers),
            AnsweredTakeovers = new(_answeredTakeovers),
            SourceHandovers = _sourceHandovers,
            Attempts = [.. _attemptHistory],
            Stopped = _stopped,
            StopReason = _stopReason,
            StopWithSavepoint = _stopWithSavepoint,
            StopAfter = _stopAfter,
            AttemptStartedAt = _attemptStartedAt,
        };
        if (!dehydrationContext.TryAddValue(MigrationKey, state))
        {
            logger.LogWarning("The checkpoint coordinator of {Pipeline} could not carry its state; its next activation restarts the pipeline", _plan.Id);
        }
    }

    public void OnRehydrate(IRehydrationContext rehydrationContext)
    {
        if (rehydrationContext.TryGetValue<CoordinatorMigrationState>(MigrationKey, out var state))
        {
            _carried = state;
        }
    }

    private SiloAddress LocalSilo => silo.SiloAddress;

    /// <summary>Continues the activation this one migrated from; false when it was not migrated.</summary>
    private bool ResumeMigrated()
    {
        if (_carried is not { } s)
        {
            return false;
        }

        _carried = null;
        _history.AddRange(s.History);
        _completed.AddRange(s.Completed);
        _lastId = s.LastId;
        _lastFinishedAt = s.LastFinishedAt;
        _joined.UnionWith(s.Joined);
        _unrestorable.UnionWith(s.Unrestorable);
        _activeSilos.UnionWith(s.ActiveSilos);
        _leavingSilos.UnionWith(s.LeavingSilos);
        _recoveryTimes.AddRange(s.RecoveryTimes);
        _attempt = s.Attempt;
        _restoreFrom = s.RestoreFrom;
        _restoreMetadata = s.RestoreMetadata;
        _floor = s.Floor;
        _restarts = s.Restarts;
        _restartsInRow = s.RestartsInRow;
        _restartAt = s.RestartAt;
        _failureDetectedAt = s.FailureDetectedAt;
        _lastRestartReason = s.LastRestartReason;
        _failed = s.Failed;
        _failureReason = s.FailureReason;
        foreach (var name in s.SavepointRequests)
        {
            _savepointRequests.Enqueue(name);
        }

        foreach (var (name, failure) in s.SavepointFailures)
        {
            _savepointFailures[name] = failure;
        }

        _startSavepoint = s.StartSavepointName is { } start ? new SavepointStart(start, s.StartSavepointId) : null;
        foreach (var (identity, owner) in s.SourceOwners)
        {
            _sourceOwners[identity] = owner;
        }

        foreach (var (identity, handover) in s.Handovers)
        {
            _handovers[identity] = handover;
        }

        foreach (var (identity, answered) in s.AnsweredTakeovers)
        {
            _answeredTakeovers[identity] = answered;
        }

        _sourceHandovers = s.SourceHandovers;
        _attemptHistory.AddRange(s.Attempts);
        _stopped = s.Stopped;
        _stopReason = s.StopReason;
        _stopWithSavepoint = s.StopWithSavepoint;
        _stopAfter = s.StopAfter;
        _attemptStartedAt = s.AttemptStartedAt;
        _attempts = new AttemptLog(store, _plan.Id);
        LogCoordinatorMigrated(logger, _plan.Id, _attempt, _lastId);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pipeline {Pipeline}: silo {Silo} shuts down gracefully; what it holds moves")]
    private static partial void LogSiloLeaving(ILogger logger, string pipeline, SiloAddress silo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pipeline {Pipeline}: checkpoint coordinator moved here, continuing attempt {Attempt} after checkpoint {LastId}")]
    private static partial void LogCoordinatorMigrated(ILogger logger, string pipeline, long attempt, long lastId);
}

/// <summary>What a checkpoint coordinator carries to the silo it moves to.</summary>
[GenerateSerializer]
internal sealed class CoordinatorMigrationState
{
    [Id(0)] public List<CheckpointInfo> History { get; set; } = [];
    [Id(1)] public List<long> Completed { get; set; } = [];
    [Id(2)] public long LastId { get; set; }
    [Id(3)] public DateTimeOffset LastFinishedAt { get; set; }
    [Id(4)] public List<TaskIdentity> Joined { get; set; } = [];
    [Id(5)] public List<long> Unrestorable { get; set; } = [];
    [Id(6)] public List<SiloAddress> ActiveSilos { get; set; } = [];
    [Id(7)] public List<SiloAddress> LeavingSilos { get; set; } = [];
    [Id(8)] public List<long> RecoveryTimes { get; set; } = [];
    [Id(9)] public long Attempt { get; set; }
    [Id(10)] public long RestoreFrom { get; set; }
    [Id(11)] public string? RestoreMetadata { get; set; }
    [Id(12)] public long Floor { get; set; }
    [Id(13)] public int Restarts { get; set; }
    [Id(14)] public int RestartsInRow { get; set; }
    [Id(15)] public DateTimeOffset? RestartAt { get; set; }
    [Id(16)] public DateTimeOffset? FailureDetectedAt { get; set; }
    [Id(17)] public string? LastRestartReason { get; set; }
    [Id(18)] public bool Failed { get; set; }
    [Id(19)] public string? FailureReason { get; set; }
    [Id(20)] public List<string> SavepointRequests { get; set; } = [];
    [Id(21)] public Dictionary<string, string> SavepointFailures { get; set; } = [];
    [Id(22)] public string? StartSavepointName { get; set; }
    [Id(23)] public long StartSavepointId { get; set; }
    [Id(24)] public Dictionary<TaskIdentity, SiloAddress> SourceOwners { get; set; } = [];
    [Id(25)] public Dictionary<TaskIdentity, SourceHandover?> Handovers { get; set; } = [];
    [Id(26)] public int SourceHandovers { get; set; }
    [Id(27)] public Dictionary<TaskIdentity, CheckpointCoordinatorGrain.AnsweredTakeover> AnsweredTakeovers { get; set; } = [];
    [Id(28)] public List<AttemptInfo> Attempts { get; set; } = [];
    [Id(29)] public bool Stopped { get; set; }
    [Id(30)] public string? StopReason { get; set; }
    [Id(31)] public string? StopWithSavepoint { get; set; }
    [Id(32)] public long StopAfter { get; set; }
    [Id(33)] public DateTimeOffset AttemptStartedAt { get; set; }
}
