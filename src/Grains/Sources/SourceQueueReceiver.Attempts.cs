using Microsoft.Extensions.Logging;
using Sluice.Checkpointing;
using Sluice.Pipelines;
using Sluice.Status;

namespace Sluice.Sources;

/// <summary>
/// The receiver's part in checkpointed pipelines: partitions join the coordinator's attempt, continue from a handover
/// or a checkpoint, reopen on a restart, inject barriers and acknowledge them; a queue that moves hands over.
/// </summary>
internal sealed partial class SourceQueueReceiver
{
    /// <summary>
    /// A checkpointed pipeline's partition continues exactly (position, watermark, sequences, undelivered messages);
    /// one without checkpoints continues after what was surely delivered (what the cache had not is read again).
    /// </summary>
    private async Task HandOverAsync(ISourcePartitionTask task)
    {
        var (source, partition) = task.Identity;
        try
        {
            if (task.Plan.Options.CheckpointInterval is null)
            {
                if (task.DeliveredPosition >= 0)
                {
                    await grains.GetGrain<IPipelineReportsGrain>(task.Plan.Id).HandOverAsync(source, partition, task.DeliveredPosition);
                }

                return;
            }

            var coordinator = grains.GetGrain<ICheckpointProtocolGrain>(task.Plan.Id);
            var identity = TaskIdentity.OfSource(source, partition);
            // A partition that failed its attempt (a user function threw) read past the failed record: the next owner must
            // not continue from there, so it gets nothing and restarts the pipeline from the checkpoint.
            var handover = task.Failure is null ? task.HandOver() : null;
            try
            {
                await coordinator.HandOverSourceAsync(task.Attempt, identity, handover);
            }
            catch (Exception ex) when (handover is not null)
            {
                // E.g. too large a message: say it cannot be handed over, so the next owner restarts now instead of waiting.
                logger.LogWarning(ex, "Could not hand over partition {Partition} of pipeline {Pipeline} ({Handover})", partition, task.Plan.Id, handover);
                handover = null;
                await coordinator.HandOverSourceAsync(task.Attempt, identity, null);
            }

            logger.LogInformation("Partition {Partition} of pipeline {Pipeline} handed over: {Handover}", partition, task.Plan.Id, (object?)handover ?? "nothing (the next owner restarts the pipeline)");
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not hand over partition {Partition} of pipeline {Pipeline}; its next owner replays more (or, with checkpoints, restarts the pipeline)", partition, task.Plan.Id);
        }
    }

    /// <summary>
    /// A checkpointed pipeline: join the coordinator's attempt and continue from the previous owner's handover when the
    /// partition moved within the attempt, else seek to the position recorded in the checkpoint the attempt restores
    /// from. A partition opened again in one attempt without a handover restarts the pipeline.
    /// </summary>
    private async Task<ISourcePartitionTask?> OpenInAttemptAsync(PipelinePlan plan, SourcePlan source, int partition)
    {
        var key = (plan.Id, source.Index, partition);
        if (_retryAt.TryGetValue(key, out var retryAt) && Environment.TickCount64 < retryAt)
        {
            return null;
        }

        // One opening id until an answer arrives: a retry after a lost answer gets the same answer (the same handover),
        // not the coordinator's verdict on a second opening.
        if (!_openings.TryGetValue(key, out var opening))
        {
            _openings[key] = opening = Random.Shared.NextInt64();
        }

        SourceTakeover takeover;
        try
        {
            // Only the first opening on this receiver is an activation; retries after a failed seek are not.
            takeover = await grains.GetGrain<ICheckpointProtocolGrain>(plan.Id).TakeOverSourceAsync(
                TaskIdentity.OfSource(source.Index, partition), _silo, activation: !_joinedAt.ContainsKey(key), opening);
            lock (_directives)
            {
                _directives[plan.Id] = takeover.Directive;
            }
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not join partition {Partition} of {Source} ({Pipeline}) to the current attempt; retrying", partition, source.Name, plan.Id);
            return null;
        }

        if (takeover.Wait)
        {
            // Its previous owner is still letting go: ask again shortly, still as a fresh opening.
            _retryAt[key] = Environment.TickCount64 + (long)TakeoverPollInterval.TotalMilliseconds;
            return null;
        }

        _joinedAt.TryAdd(key, 0);
        _openings.Remove(key);
        _retryAt.Remove(key);
        var directive = takeover.Directive;
        var task = Open(plan, source, partition, directive.Attempt);
        try
        {
            if (takeover.Handover is { } handover)
            {
                task.TakeOver(handover);
            }
            else
            {
                await SeekToCheckpointAsync(task, directive);
            }

            return task;
        }
        catch (Exception ex)
        {
            task.Dispose();
            if (_joinedAt[key] != directive.Attempt)
            {
                // Once per attempt: the coordinator restarts from a checkpoint that can be read.
                _joinedAt[key] = directive.Attempt;
                logger.LogError(ex, "Partition {Partition} of {Source} ({Pipeline}) cannot resume attempt {Attempt}", partition, source.Name, plan.Id, directive.Attempt);
                await ReportFailureAsync(plan, directive.Attempt, source.Index, partition, ex.Message);
            }

            return null;
        }
    }

    /// <summary>The pipeline restarted: read the partition afresh for the new attempt, from the restored checkpoint's position.</summary>
    private async Task<ISourcePartitionTask> ReopenAsync(ISourcePartitionTask old, AttemptDirective directive)
    {
        var (source, partition) = old.Identity;
        var plan = old.Plan;
        old.Dispose();
        var task = Open(plan, plan.Sources[source], partition, directive.Attempt);
        _tasks[_tasks.IndexOf(old)] = task;
        try
        {
            await SeekToCheckpointAsync(task, directive);
            await grains.GetGrain<ICheckpointProtocolGrain>(plan.Id).JoinAsync(TaskIdentity.OfSource(source, partition), activation: false);
        }
        catch (Exception ex)
        {
            // Reading from the wrong place would break exactly-once: report it; the coordinator restarts again.
            logger.LogError(ex, "Partition {Partition} of pipeline {Pipeline} could not resume for attempt {Attempt}", partition, plan.Id, directive.Attempt);
            await ReportFailureAsync(plan, directive.Attempt, source, partition, ex.Message);
        }

        logger.LogInformation("Partition {Partition} of {Source} ({Pipeline}) reopened for attempt {Attempt} from checkpoint {Checkpoint}", partition, plan.Sources[source].Name, plan.Id, directive.Attempt, directive.RestoreFrom);
        return task;
    }

    private async Task SeekToCheckpointAsync(ISourcePartitionTask task, AttemptDirective attempt)
    {
        if (attempt.RestoreMetadata is not { } metadata)
        {
            return; // nothing to restore: the reader's own start position
        }

        var (source, partition) = task.Identity;
        var checkpoint = await catalog.GetAsync(metadata)
            ?? throw new InvalidOperationException($"{metadata} of '{task.Plan.Id}' is missing or unreadable");
        if (checkpoint.Sources.FirstOrDefault(s => s.Source == source && s.Partition == partition) is { } recorded)
        {
            if (recorded.Position >= 0)
            {
                task.Seek(recorded.Position);
            }

            if (recorded.Watermark is { } watermark)
            {
                task.RestoreWatermark(watermark, recorded.Idle);
            }
        }
    }

    /// <summary>
    /// Tells the coordinator a partition cannot run its attempt. A report that does not arrive is sent again with the
    /// next directive polls while that attempt is current: the partition is reported once per attempt, and a lost report
    /// would otherwise leave the pipeline stalled without a restart.
    /// </summary>
    private async Task ReportFailureAsync(PipelinePlan plan, long attempt, int source, int partition, string reason)
    {
        var key = (plan.Id, attempt, source, partition);
        try
        {
            await grains.GetGrain<ICheckpointProtocolGrain>(plan.Id).ReportFailureAsync(attempt, TaskIdentity.OfSource(source, partition), reason, RestoreFailure.None);
            lock (_unreportedFailures)
            {
                _unreportedFailures.Remove(key);
            }
        }
        catch (Exception ex)
        {
            lock (_unreportedFailures)
            {
                _unreportedFailures[key] = reason;
            }

            logger.LogWarning(ex, "Could not report the failure of partition {Partition} of {Pipeline}; reporting it again shortly", partition, plan.Id);
        }
    }

    /// <summary>
    /// A partition's user function failed under <see cref="ErrorPolicy.Fail"/>: the coordinator hears of it once per attempt
    /// (a report that does not arrive is sent again, as every failure report is) and restarts the pipeline.
    /// </summary>
    private Task ReportUserFailureAsync(ISourcePartitionTask task, string failure)
    {
        var (source, partition) = task.Identity;
        if (!_userFailuresReported.Add((task.Plan.Id, task.Attempt, source, partition)))
        {
            return Task.CompletedTask;
        }

        logger.LogError("Partition {Partition} of {Source} ({Pipeline}) fails attempt {Attempt}: {Failure}", partition, task.Plan.Sources[source].Name, task.Plan.Id, task.Attempt, failure);
        return ReportFailureAsync(task.Plan, task.Attempt, source, partition, failure);
    }

    /// <summary>Failure reports of <paramref name="plan"/> that did not arrive, sent again while their attempt is current.</summary>
    private async Task RetryFailureReportsAsync(PipelinePlan plan, long currentAttempt)
    {
        List<((string Pipeline, long Attempt, int Source, int Partition) Key, string Reason)> retry;
        lock (_unreportedFailures)
        {
            if (_unreportedFailures.Count == 0)
            {
                return;
            }

            retry = [];
            foreach (var (key, reason) in _unreportedFailures)
            {
                if (key.Pipeline == plan.Id)
                {
                    retry.Add((key, reason));
                }
            }

            foreach (var (key, _) in retry)
            {
                _unreportedFailures.Remove(key);
            }
        }

        foreach (var ((_, attempt, source, partition), reason) in retry)
        {
            if (attempt == currentAttempt)
            {
                await ReportFailureAsync(plan, attempt, source, partition, reason);
            }
        }
    }

    /// <summary>Asks the coordinators of checkpointed pipelines read here which attempt runs and which checkpoint is open (one call per pipeline, not per partition).</summary>
    private async Task PollCheckpointsAsync()
    {
        foreach (var plan in _tasks.Select(t => t.Plan).Where(p => p.Options.CheckpointInterval is not null).Distinct().ToArray())
        {
            try
            {
                var directive = await grains.GetGrain<ICheckpointProtocolGrain>(plan.Id).GetDirectiveAsync();
                lock (_directives)
                {
                    _directives[plan.Id] = directive;
                }

                await RetryFailureReportsAsync(plan, directive.Attempt);
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Could not ask the checkpoint coordinator of {Pipeline} for barriers", plan.Id);
            }
        }
    }

    private async Task AckBarrierAsync(string pipeline, long attempt, long checkpoint, int source, int partition, long position, long watermark, bool idle)
    {
        try
        {
            await grains.GetGrain<ICheckpointProtocolGrain>(pipeline).AckSourceAsync(attempt, checkpoint, source, partition, position, watermark, idle);
        }
        catch (Exception ex)
        {
            // The checkpoint will time out and be counted as failed; the next one gets a fresh barrier.
            logger.LogWarning(ex, "Could not acknowledge barrier {Checkpoint} of {Pipeline}", checkpoint, pipeline);
        }
    }
}
