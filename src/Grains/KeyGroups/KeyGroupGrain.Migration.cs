using Microsoft.Extensions.Logging;
using Sluice.Checkpointing;
using Sluice.Exchange;
using Sluice.Migration;

namespace Sluice.KeyGroups;

/// <summary>
/// Planned moves (Orleans grain migration asked for by <see cref="IKeyGroupGrain.MigrateAsync"/> or by a graceful shutdown of
/// its silo): the key group carries its state, its input gate and its senders' unacknowledged batches to the new
/// activation, which continues in the same attempt without a restart. A task that cannot carry everything (the open
/// epoch of a transactional sink that is not an <see cref="Functions.IMovableSink"/>) does not dehydrate; its new
/// activation then counts as one that lost its state, and the pipeline restarts.
/// </summary>
internal sealed partial class KeyGroupGrain : IGrainMigrationParticipant
{
    private const string MigrationKey = "sluice.keygroup";
    private KeyGroupMigrationState? _migrated;
    private bool _migrating;
    private IGrainTimer? _rejoin;

    private SiloAddress LocalSilo => silo.SiloAddress;

    public Task MigrateAsync(SiloAddress target)
    {
        ShutdownMigration.MigrateTo(this, target, ServiceProvider);
        return Task.CompletedTask;
    }

    public void OnDehydrate(IDehydrationContext dehydrationContext)
    {
        if (!_migrating)
        {
            return;
        }

        if (_migrated is { } notYetResumed)
        {
            // Asked to move again before this activation took over what it was handed: pass that on unchanged.
            dehydrationContext.TryAddValue(MigrationKey, notYetResumed);
            return;
        }

        var counters = _task.Counters;
        var state = new KeyGroupMigrationState
        {
            Attempt = _attempt,
            TaskState = _task.ExportForMigration(),
            Gate = _gate.Export(),
            Senders = _senders.ConvertAll(s => s.Export()),
            Finished = _finished,
            Counters = [counters.RecordsIn, counters.RecordsOut, counters.LateRecordsDropped, counters.InvalidRecords, counters.LateRecordsSideOutput],
            LastUploadPath = _lastUpload?.Path,
            LastUploadLength = _lastUpload?.Length ?? 0,
            LastUploadHash = _lastUpload?.Hash ?? 0,
        };
        if (!dehydrationContext.TryAddValue(MigrationKey, state))
        {
            _logger.LogWarning("{Task} could not carry its state to its new activation; the pipeline will restart", _name);
        }
    }

    public void OnRehydrate(IRehydrationContext rehydrationContext)
    {
        if (rehydrationContext.TryGetValue<KeyGroupMigrationState>(MigrationKey, out var state))
        {
            _migrated = state;
        }
    }

    /// <summary>
    /// True when the deactivation is a migration this task can go through with its state in memory: one Orleans
    /// started on request (<see cref="MigrateAsync"/>) or one this task asks for because its silo shuts down. Not when a
    /// snapshot it took is still in flight: the state that would move might lack what that snapshot staged.
    /// </summary>
    private bool PrepareMigration(DeactivationReason reason, bool snapshotsDrained)
    {
        var canCarry = _migrated is not null || (snapshotsDrained && _task is { CanMigrate: true } && !_failedInAttempt && _unfinishedReset is null);
        _migrating = canCarry
            && (reason.ReasonCode == DeactivationReasonCode.Migrating || ShutdownMigration.TryRequest(this, reason, ServiceProvider));
        return _migrating;
    }

    /// <summary>Continues the activation this one migrated from: same attempt, state, gate and senders.</summary>
    private bool ResumeMigrated()
    {
        if (_migrated is not { } state)
        {
            return false;
        }

        Build(state.Attempt);
        if (state.TaskState is { } taskState)
        {
            _task.ImportMigrated(taskState);
        }

        var counters = _task.Counters;
        (counters.RecordsIn, counters.RecordsOut, counters.LateRecordsDropped, counters.InvalidRecords) = (state.Counters[0], state.Counters[1], state.Counters[2], state.Counters[3]);
        counters.LateRecordsSideOutput = state.Counters.Length > 4 ? state.Counters[4] : 0; // (a state exported before the counter existed)
        _gate.Import(state.Gate);
        for (var i = 0; i < _senders.Count; i++)
        {
            _senders[i].Import(state.Senders[i]);
        }

        _finished = state.Finished;
        _lastUpload = state.LastUploadPath is { } path ? (path, state.LastUploadLength, state.LastUploadHash) : null;
        _migrated = null; // taken over: from here a further move exports the live state
        _logger.LogInformation("{Task} migrated with {Entries} state entries (attempt {Attempt})", _name, _task.StateEntries, _attempt);
        if (_plan.Options.CheckpointInterval is not null)
        {
            // Right after activation, not during it: Orleans completes a batch of migrations only once every grain in it
            // has activated, and the coordinator may be in the same batch, so calling it from here would wait on itself.
            _rejoin = this.RegisterGrainTimer(RejoinAfterMigrationAsync, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan));
        }

        return true;
    }

    /// <summary>Not a new activation for the coordinator; if the pipeline restarted meanwhile, catch up.</summary>
    private async Task RejoinAfterMigrationAsync(CancellationToken cancellationToken)
    {
        _rejoin?.Dispose();
        _rejoin = null;
        var directive = await Coordinator.JoinAsync(Identity, activation: false, LocalSilo);
        if (directive.Attempt > _attempt)
        {
            await ResetAsync(directive);
        }
    }
}

/// <summary>What a key group carries to the silo it migrates to.</summary>
[GenerateSerializer]
internal sealed class KeyGroupMigrationState
{
    [Id(0)] public long Attempt { get; set; }

    [Id(1)] public byte[]? TaskState { get; set; }

    [Id(2)] public InputGateState Gate { get; set; } = new();

    [Id(3)] public List<ExchangeSenderState> Senders { get; set; } = [];

    [Id(4)] public bool Finished { get; set; }

    [Id(5)] public long[] Counters { get; set; } = [];

    [Id(6)] public string? LastUploadPath { get; set; }

    [Id(7)] public int LastUploadLength { get; set; }

    [Id(8)] public ulong LastUploadHash { get; set; }
}
