using Microsoft.Extensions.Logging;
using Sluice.Checkpointing;

namespace Sluice.KeyGroups;

/// <summary>
/// A task's failure reports to its pipeline's coordinator. A report that does not arrive (the coordinator moving, a
/// lost message) is kept and sent again on the task's next tick, until it arrives or a restart reaches the task: a task
/// that stopped processing its attempt and whose report was lost would otherwise stall the pipeline for good, since
/// nothing else restarts it.
/// </summary>
internal sealed class FailureReports(Func<ICheckpointProtocolGrain> coordinator, TaskIdentity identity, string task, ILogger logger)
{
    private Unreported? _unreported;

    public async Task ReportAsync(long attempt, string reason, RestoreFailure kind)
    {
        try
        {
            await coordinator().ReportFailureAsync(attempt, identity, reason, kind);
            if (_unreported?.Attempt == attempt)
            {
                _unreported = null;
            }
        }
        catch (Exception ex)
        {
            _unreported = new Unreported(attempt, reason, kind);
            logger.LogWarning(ex, "{Task} could not report its failure to the coordinator; it tries again", task);
        }
    }

    /// <summary>Sends the report that did not arrive again, if its attempt is still <paramref name="currentAttempt"/>.</summary>
    public Task RetryAsync(long currentAttempt)
    {
        if (_unreported is not { } failure)
        {
            return Task.CompletedTask;
        }

        if (failure.Attempt != currentAttempt)
        {
            _unreported = null; // a restart reached the task: the report is moot
            return Task.CompletedTask;
        }

        return ReportAsync(failure.Attempt, failure.Reason, failure.Kind);
    }

    private sealed record Unreported(long Attempt, string Reason, RestoreFailure Kind);
}
