using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;

namespace Sluice.Tasks;

/// <summary>
/// Applies a task's <see cref="ErrorPolicy"/> to a user function's failure. Under <see cref="ErrorPolicy.Fail"/> it throws
/// <see cref="UserFunctionException"/>, which escapes the chain to the task's owner (the key-group grain, the source
/// partition), and that fails the task. Under <see cref="ErrorPolicy.SkipAndCount"/> it logs (at most once per second per
/// task, so a poison stream cannot flood the log) and remembers the last error for the status API; the caller counts.
/// </summary>
internal sealed class UserErrorReporter(ILogger logger, string taskName, Func<long> clock, ErrorPolicy policy)
{
    private long _lastLogged = long.MinValue;
    private long _suppressed;

    public string? LastError { get; private set; }

    public ErrorPolicy Policy { get; } = policy;

    /// <summary>True when a failure fails the task rather than dropping the record.</summary>
    public bool FailsTask => Policy.Kind == ErrorPolicyKind.Fail;

    /// <summary>Describes the failure the way the API shows it: task, exception type, what it was doing, message.</summary>
    public string Describe(Exception ex, string activity) => $"{taskName}: {ex.GetType().Name} while {activity}: {ex.Message}";

    /// <summary>
    /// Handles one failure: throws <see cref="UserFunctionException"/> under <see cref="ErrorPolicyKind.Fail"/> (and passes
    /// one thrown further down the chain on unchanged); otherwise records it for the caller to count and drop.
    /// </summary>
    public void Report(Exception ex, string activity)
    {
        ex = Unwrap(ex);
        if (ex is UserFunctionException)
        {
            ExceptionDispatchInfo.Capture(ex).Throw();
        }

        if (FailsTask)
        {
            throw new UserFunctionException(Describe(ex, activity), ex);
        }

        Skip(ex, activity);
    }

    /// <summary>What a failure that passed an operator's downstream boundary (<see cref="ChainedFailure"/>) really was.</summary>
    public static Exception Unwrap(Exception ex) => ex is ChainedFailure { InnerException: { } inner } ? inner : ex;

    /// <summary>Records a failure whose record is dropped (or dead-lettered): last error and a rate-limited log line; the caller counts.</summary>
    public void Skip(Exception ex, string activity) =>
        Record(ex, activity, "{Task}: user function failed while {Activity}; the record is dropped and counted ({Suppressed} similar errors not logged)");

    /// <summary>Records a failure of the engine around the task (a commit, a channel), whatever the policy: last error and a rate-limited log line.</summary>
    public void Note(Exception ex, string activity) =>
        Record(ex, activity, "{Task}: failed while {Activity} ({Suppressed} similar errors not logged)");

    private void Record(Exception ex, string activity, string message)
    {
        LastError = Describe(ex, activity);
        var now = clock();
        if (now - _lastLogged < 1000)
        {
            _suppressed++;
            return;
        }

#pragma warning disable CA2254 // one of two constant templates
        logger.LogError(ex, message, taskName, activity, _suppressed);
#pragma warning restore CA2254
        _lastLogged = now;
        _suppressed = 0;
    }
}

/// <summary>A user function threw under <see cref="ErrorPolicy.Fail"/>: the task fails (its message is the reason shown in the API).</summary>
internal sealed class UserFunctionException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// A failure further down the chain, passing back through an operator that has its own <see cref="ErrorPolicy"/> (see
/// <c>DownstreamBoundary</c>): that operator's policy is not for it. The task's own handling unwraps it.
/// </summary>
internal sealed class ChainedFailure(Exception inner) : Exception(inner.Message, inner);
