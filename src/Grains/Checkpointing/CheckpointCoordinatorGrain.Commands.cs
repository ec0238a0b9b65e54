using Microsoft.Extensions.Logging;
using Sluice.Grains;

namespace Sluice.Checkpointing;

/// <summary>
/// An operator's commands (Flink's cancel, stop-with-savepoint, run from a savepoint) and the attempt history they and
/// restarts leave. Stopping halts the attempt: the directive says so, source receivers read nothing more, no checkpoint
/// starts and failures of the halted attempt are not restarts. Starting is a new attempt, restored like any restart.
/// A stop lasts while the coordinator lives (it moves with it); a cluster started afresh runs the pipeline again.
/// </summary>
internal sealed partial class CheckpointCoordinatorGrain
{
    private const int AttemptsKept = 50;
    private readonly List<AttemptInfo> _attemptHistory = [];
    private bool _stopped;
    private string? _stopReason;
    private string? _stopWithSavepoint;
    private long _stopAfter;
    private DateTimeOffset _attemptStartedAt;

    public Task<IReadOnlyList<AttemptInfo>> GetAttemptsAsync() => Task.FromResult<IReadOnlyList<AttemptInfo>>(_attemptHistory.ToList());

    public Task CancelAsync()
    {
        EnsureCheckpointed("canceled");
        if (_failed || _stopped)
        {
            throw new InvalidOperationException($"Pipeline '{_plan.Id}' is not running ({StateWord()}).");
        }

        Stop("canceled");
        return Task.CompletedTask;
    }

    public async Task StopWithSavepointAsync(string name)
    {
        EnsureCheckpointed("stopped with a savepoint");
        if (_stopped || _stopWithSavepoint is not null)
        {
            throw new InvalidOperationException($"Pipeline '{_plan.Id}' is {(_stopped ? "not running" : $"already stopping with savepoint '{_stopWithSavepoint}'")}.");
        }

        await TriggerSavepointAsync(name); // validates the name and the pipeline's state
        _stopWithSavepoint = name;
        LogStopping(logger, _plan.Id, name);
    }

    public async Task StartAsync(string? savepoint)
    {
        EnsureCheckpointed("started from a savepoint");
        if (!_stopped && !_failed)
        {
            throw new InvalidOperationException($"Pipeline '{_plan.Id}' is running (attempt {_attempt}); cancel it or stop it with a savepoint first.");
        }

        SavepointStart? from = null;
        if (savepoint is not null)
        {
            from = await FindSavepointAsync(savepoint)
                ?? throw new KeyNotFoundException($"Pipeline '{_plan.Id}' has no completed savepoint named '{savepoint}'.");
        }

        if (from is not null)
        {
            // From now on restarts restore this savepoint until the new run completes a checkpoint of its own.
            _startSavepoint = from;
            _floor = _lastId + 1;
        }

        _stopped = false;
        _stopReason = null;
        _stopWithSavepoint = null;
        _stopAfter = 0;
        _failed = false;
        _failureReason = null;
        _restartAt = null;
        _restartsInRow = 0;
        _lastFinishedAt = DateTimeOffset.UtcNow;
        await BeginAttemptAsync(_attempt, from is null ? "started by an operator" : $"started by an operator from savepoint '{from.Name}'", broadcast: true);
    }

    /// <summary>The savepoint a stop waits for has started as checkpoint <paramref name="checkpointId"/>: sources stop after its barrier.</summary>
    private void OnSavepointStarted(string name, long checkpointId)
    {
        if (name == _stopWithSavepoint)
        {
            _stopAfter = checkpointId;
        }
    }

    /// <summary>A savepoint finished (written or failed): the stop waiting for it completes, or is given up and the pipeline runs on.</summary>
    private void OnSavepointFinished(string name)
    {
        if (name != _stopWithSavepoint)
        {
            return;
        }

        if (_savepointFailures.TryGetValue(name, out var failure))
        {
            logger.LogWarning("Pipeline {Pipeline}: stop with savepoint '{Savepoint}' failed ({Failure}); it keeps running", _plan.Id, name, failure);
            _stopWithSavepoint = null;
            _stopAfter = 0;
            return;
        }

        Stop($"stopped with savepoint '{name}'");
    }

    private void Stop(string reason)
    {
        _stopped = true;
        _stopReason = reason;
        _stopWithSavepoint = null;
        _stopAfter = 0;
        _restartAt = null;
        if (_pending is { } p)
        {
            FailCheckpoint(p, $"aborted: the pipeline was {reason}");
        }

        LogStopped(logger, _plan.Id, _attempt, reason);
    }

    private void RecordAttempt(long restoredFrom, string reason)
    {
        _attemptStartedAt = DateTimeOffset.UtcNow;
        _attemptHistory.Add(new AttemptInfo(_attempt, _attemptStartedAt, restoredFrom, reason));
        if (_attemptHistory.Count > AttemptsKept)
        {
            _attemptHistory.RemoveAt(0);
        }
    }

    private void EnsureCheckpointed(string what)
    {
        if (_plan.Options.CheckpointInterval is null)
        {
            throw new InvalidOperationException($"Pipeline '{_plan.Id}' takes no checkpoints (PipelineOptions.CheckpointInterval), so it cannot be {what}.");
        }
    }

    private string StateWord() => _failed ? $"FAILED: {_failureReason}" : $"{_stopReason}";

    [LoggerMessage(Level = LogLevel.Information, Message = "Pipeline {Pipeline}: stopping once savepoint '{Savepoint}' completes")]
    private static partial void LogStopping(ILogger logger, string pipeline, string savepoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pipeline {Pipeline}: attempt {Attempt} {Reason}")]
    private static partial void LogStopped(ILogger logger, string pipeline, long attempt, string reason);
}
