using Microsoft.Extensions.Logging;
using Sluice.Sources;

namespace Sluice.Checkpointing;

/// <summary>
/// Planned moves of source partitions: a queue that changes silo without a failure (a silo joined, or one shuts down
/// gracefully) is handed over from its old owner to its new one within the attempt, instead of restarting the
/// pipeline. The new owner may ask before the old one has let go: it waits while the old owner's silo is alive,
/// up to <see cref="HandoverWait"/>; a partition whose owner died, gave up or never handed over restarts the pipeline.
/// A takeover is idempotent per opening: the receiver asks again with the same opening id when it did not get the
/// answer, and gets the same handover (the first answer already took it out of <see cref="_handovers"/>).
/// </summary>
internal sealed partial class CheckpointCoordinatorGrain
{
    private static readonly TimeSpan HandoverWait = TimeSpan.FromSeconds(30);
    private readonly Dictionary<TaskIdentity, SiloAddress> _sourceOwners = [];
    private readonly Dictionary<TaskIdentity, SourceHandover?> _handovers = [];
    private readonly Dictionary<TaskIdentity, DateTimeOffset> _awaitingHandover = [];
    private readonly Dictionary<TaskIdentity, AnsweredTakeover> _answeredTakeovers = [];
    private int _sourceHandovers;

    public Task<SourceTakeover> TakeOverSourceAsync(TaskIdentity identity, SiloAddress owner, bool activation, long opening)
    {
        if (_answeredTakeovers.TryGetValue(identity, out var answered) && answered.Opening == opening && answered.Owner.Equals(owner))
        {
            // The same opening asks again: its answer was lost. Anything else would read the partition twice.
            return Task.FromResult(new SourceTakeover(Directive(), answered.Handover, false));
        }

        var answer = Answer(identity, owner, activation);
        if (!answer.Wait)
        {
            _answeredTakeovers[identity] = new AnsweredTakeover(opening, owner, answer.Handover);
        }

        return Task.FromResult(answer);
    }

    private SourceTakeover Answer(TaskIdentity identity, SiloAddress owner, bool activation)
    {
        var first = _joined.Add(identity);
        if (first || !activation || _restartAt is not null || _failed)
        {
            // Its first opening in this attempt, a reopening after a restart, or a restart is on its way anyway.
            _sourceOwners[identity] = owner;
            return new SourceTakeover(Directive(), null, false);
        }

        if (_handovers.Remove(identity, out var handover))
        {
            _awaitingHandover.Remove(identity);
            if (handover is not null)
            {
                _sourceOwners[identity] = owner;
                _sourceHandovers++;
                LogTakenOver(logger, _plan.Id, identity.ToString(), owner, handover.ToString());
                return new SourceTakeover(Directive(), handover, false);
            }

            RequestRestart($"{identity} moved to {owner} in attempt {_attempt}, and its previous owner could not hand it over");
        }
        else if (_sourceOwners.TryGetValue(identity, out var previous) && IsAlive(previous) && !WaitedTooLong(identity))
        {
            return new SourceTakeover(Directive(), null, Wait: true);
        }
        else
        {
            _awaitingHandover.Remove(identity);
            RequestRestart($"{identity} was opened again in attempt {_attempt} without a handover (its owner {(_sourceOwners.TryGetValue(identity, out var p) ? p : "?")} failed)");
        }

        _sourceOwners[identity] = owner;
        return new SourceTakeover(Directive(), null, false);
    }

    public Task HandOverSourceAsync(long attempt, TaskIdentity identity, SourceHandover? handover)
    {
        if (attempt == _attempt && !_failed && _restartAt is null)
        {
            _handovers[identity] = handover;
        }

        return Task.CompletedTask;
    }

    /// <summary>A new attempt: every partition reopens from the checkpoint, so earlier handovers are void.</summary>
    private void ForgetHandovers()
    {
        _handovers.Clear();
        _awaitingHandover.Clear();
        _answeredTakeovers.Clear();
    }

    private bool WaitedTooLong(TaskIdentity identity)
    {
        var now = DateTimeOffset.UtcNow;
        if (!_awaitingHandover.TryGetValue(identity, out var since))
        {
            _awaitingHandover[identity] = now;
            return false;
        }

        return now - since > HandoverWait;
    }

    private bool IsAlive(SiloAddress silo) =>
        membership.CurrentSnapshot.GetSiloStatus(silo) is SiloStatus.Active or SiloStatus.Joining or SiloStatus.Created or SiloStatus.ShuttingDown or SiloStatus.Stopping;

    /// <summary>The last answer given to a source partition's opening in this attempt (not a wait).</summary>
    [GenerateSerializer, Immutable]
    internal sealed record AnsweredTakeover(
        [property: Id(0)] long Opening,
        [property: Id(1)] SiloAddress Owner,
        [property: Id(2)] SourceHandover? Handover);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pipeline {Pipeline}: {Identity} taken over by {Owner} ({Handover})")]
    private static partial void LogTakenOver(ILogger logger, string pipeline, string identity, SiloAddress owner, string handover);
}
