using Microsoft.Extensions.Logging;
using Orleans.Streams;
using Sluice.Checkpointing;
using Sluice.Diagnostics;
using Sluice.KeyGroups;
using Sluice.Pipelines;
using Sluice.Status;
using Sluice.Tasks;

namespace Sluice.Sources;

/// <summary>
/// The receiver of one queue of the source provider. Each source partition of each registered pipeline is
/// mapped to one queue; the queue balancer spreads queues over silos, so partitions move with them.
/// A pull polls every partition of the queue without blocking and returns the containers they produced.
/// </summary>
internal sealed class SourceQueueReceiver(
    int queueIndex, int queueCount, PipelineRegistry registry, IServiceProvider services, IGrainFactory grains, ILogger logger)
    : IQueueAdapterReceiver
{
    private static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan CheckpointPollInterval = TimeSpan.FromMilliseconds(100);
    private readonly Dictionary<string, AttemptDirective> _directives = new(StringComparer.Ordinal);
    private long _lastCheckpointPollAt;
    private readonly List<ISourcePartitionTask> _tasks = [];
    private readonly HashSet<(string Pipeline, int Source, int Partition)> _known = [];
    private readonly Dictionary<(string Pipeline, int Source, int Partition), long> _joinedAt = [];
    private int _seenVersion = -1;
    private long _token;
    private int _next;
    private long _lastReportAt;

    public Task Initialize(TimeSpan timeout) => Task.CompletedTask;

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount) => GetQueueMessagesAsync(maxCount, CancellationToken.None);

    public async Task<IList<IBatchContainer>> GetQueueMessagesAsync(int maxCount, CancellationToken cancellationToken)
    {
        if (registry.Version != _seenVersion)
        {
            await DiscoverPartitionsAsync();
        }

        var output = new List<IBatchContainer>();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var limit = maxCount < 0 ? int.MaxValue : maxCount;
        // Start where the last pull stopped, so a full cache does not starve the later partitions.
        for (var i = 0; i < _tasks.Count; i++)
        {
            var task = _tasks[(_next + i) % _tasks.Count];
            // The first partition of a pull is polled whenever the cache takes anything: its worst case can
            // exceed the cache's add limit (cache size / 10; e.g. 2 x 2,048 key groups), and skipping it then
            // would skip it, and every partition after it, forever.
            if (limit <= 0 || (output.Count > 0 && output.Count + task.MaxContainersPerPoll > limit))
            {
                _next = (_next + i) % _tasks.Count;
                break;
            }

            AttemptDirective? directive;
            lock (_directives)
            {
                directive = _directives.GetValueOrDefault(task.Plan.Id);
            }

            if (directive is not null)
            {
                if (directive.Failed)
                {
                    continue; // a FAILED pipeline reads nothing more
                }

                if (directive.Attempt > task.Attempt)
                {
                    task = await ReopenAsync(task, directive);
                }

                if (directive.PendingCheckpoint > task.LastBarrier && directive.Attempt == task.Attempt)
                {
                    var position = task.InjectBarrier(directive.PendingCheckpoint, output);
                    var (source, partition) = task.Identity;
                    _ = AckBarrierAsync(task.Plan.Id, task.Attempt, directive.PendingCheckpoint, source, partition, position, task.Watermark);
                }
            }

            var before = task.RecordsRead;
            task.Poll(now, output);
            SluiceInstruments.RecordsRead.Add(task.RecordsRead - before);
        }

        if (now - _lastCheckpointPollAt >= (long)CheckpointPollInterval.TotalMilliseconds)
        {
            _lastCheckpointPollAt = now;
            _ = PollCheckpointsAsync();
        }

        if (now - _lastReportAt >= (long)ReportInterval.TotalMilliseconds)
        {
            _lastReportAt = now;
            _ = ReportAsync();
        }

        return output;
    }

    [Obsolete("Use the overload which accepts a CancellationToken.")]
    public Task MessagesDeliveredAsync(IList<IBatchContainer> messages) => Task.CompletedTask;

    public Task MessagesDeliveredAsync(IList<IBatchContainer> messages, CancellationToken cancellationToken)
    {
        // Purged from the cache in order: every container before these was delivered too.
        foreach (var message in messages)
        {
            if (message is SourceBatchContainer { Origin: { } origin, ReadStartPosition: >= 0 } container)
            {
                origin.MarkDelivered(container.ReadStartPosition);
            }
        }

        return Task.CompletedTask;
    }

    public async Task Shutdown(TimeSpan timeout)
    {
        await ReportAsync();

        // The queue moves to another silo (or this one stops): tell the next owner where delivery stood, so it
        // replays only the tail this silo's cache had not delivered, then release consumers and their threads.
        // A checkpointed pipeline needs no handover: the partition's next opening restarts the pipeline.
        foreach (var task in _tasks)
        {
            if (task.DeliveredPosition >= 0 && task.Plan.Options.CheckpointInterval is null)
            {
                try
                {
                    await grains.GetGrain<IPipelineReportsGrain>(task.Plan.Id).HandOverAsync(task.Identity.Source, task.Identity.Partition, task.DeliveredPosition);
                }
                catch (Exception ex)
                {
                    logger.LogWarning(ex, "Could not hand over partition {Partition} of pipeline {Pipeline}; its next owner replays more", task.Identity.Partition, task.Plan.Id);
                }
            }

            task.Dispose();
        }

        _tasks.Clear();
        _known.Clear();
        _joinedAt.Clear();
        _seenVersion = -1;
    }

    /// <summary>Stable spread of (pipeline, source, partition) over the provider's queues.</summary>
    public static int QueueOf(string pipeline, string source, int partition, int queueCount)
    {
        var seed = KeyGroups.Murmur3.Hash32(System.Text.Encoding.UTF8.GetBytes($"{pipeline}/{source}"));
        return (int)((seed + (uint)partition) % (uint)queueCount);
    }

    private async Task DiscoverPartitionsAsync()
    {
        _seenVersion = registry.Version;
        foreach (var plan in registry.Plans)
        {
            foreach (var source in plan.Sources)
            {
                for (var p = 0; p < source.Partitions; p++)
                {
                    if (QueueOf(plan.Id, source.Name, p, queueCount) != queueIndex || _known.Contains((plan.Id, source.Index, p)))
                    {
                        continue;
                    }

                    var task = plan.Options.CheckpointInterval is null
                        ? await OpenWithHandoverAsync(plan, source, p)
                        : await OpenInAttemptAsync(plan, source, p);
                    if (task is null)
                    {
                        _seenVersion = -1; // try this partition again on the next pull
                        continue;
                    }

                    _known.Add((plan.Id, source.Index, p));
                    _tasks.Add(task);
                    logger.LogInformation("Queue {Queue} reads partition {Partition} of source {Source} of pipeline {Pipeline} (attempt {Attempt})", queueIndex, p, source.Name, plan.Id, task.Attempt);
                }
            }
        }
    }

    /// <summary>A pipeline without checkpoints: continue after what a previous owner delivered, if it handed over.</summary>
    private async Task<ISourcePartitionTask> OpenWithHandoverAsync(PipelinePlan plan, SourcePlan source, int partition)
    {
        var task = Open(plan, source, partition, attempt: 0);
        var handover = await HandoverAsync(plan, source.Index, partition);
        if (handover >= 0)
        {
            task.Seek(handover);
            logger.LogInformation("Partition {Partition} of {Source} ({Pipeline}) taken over at {Position}", partition, source.Name, plan.Id, handover);
        }

        return task;
    }

    /// <summary>
    /// A checkpointed pipeline: join the coordinator's attempt (a partition opened twice in one attempt restarts the
    /// pipeline) and seek to the position recorded in the checkpoint the attempt restores from.
    /// </summary>
    private async Task<ISourcePartitionTask?> OpenInAttemptAsync(PipelinePlan plan, SourcePlan source, int partition)
    {
        AttemptDirective directive;
        var key = (plan.Id, source.Index, partition);
        try
        {
            // Only the first opening on this receiver is an activation; retries after a failed seek are not.
            directive = await grains.GetGrain<ICheckpointProtocolGrain>(plan.Id).JoinAsync(TaskIdentity.OfSource(source.Index, partition), activation: _joinedAt.TryAdd(key, 0));
            lock (_directives)
            {
                _directives[plan.Id] = directive;
            }
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not join partition {Partition} of {Source} ({Pipeline}) to the current attempt; retrying", partition, source.Name, plan.Id);
            return null;
        }

        var task = Open(plan, source, partition, directive.Attempt);
        try
        {
            await SeekToCheckpointAsync(task, directive);
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

        var catalog = (CheckpointCatalog)services.GetService(typeof(CheckpointCatalog))!;
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
                task.RestoreWatermark(watermark);
            }
        }
    }

    private async Task ReportFailureAsync(PipelinePlan plan, long attempt, int source, int partition, string reason)
    {
        try
        {
            await grains.GetGrain<ICheckpointProtocolGrain>(plan.Id).ReportFailureAsync(attempt, TaskIdentity.OfSource(source, partition), reason, RestoreFailure.None);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not report the failure of partition {Partition} of {Pipeline}", partition, plan.Id);
        }
    }

    private async Task<long> HandoverAsync(PipelinePlan plan, int source, int partition)
    {
        try
        {
            return await grains.GetGrain<IPipelineReportsGrain>(plan.Id).GetHandoverAsync(source, partition);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not ask where partition {Partition} of pipeline {Pipeline} was handed over; reading from its start position", partition, plan.Id);
            return -1;
        }
    }

    private ISourcePartitionTask Open(PipelinePlan plan, SourcePlan source, int partition, long attempt)
    {
        var errors = new UserErrorReporter(logger, $"{plan.Id}/{source.Name}[{partition}]", static () => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var pull = new SourcePullContext(() => ++_token);
        var context = new SourceTaskContext(plan, source, partition, services, static () => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), errors, pull) { Attempt = attempt };
        return source.Node.Accept(new SourceTaskFactory(context, source, partition, pull));
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
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Could not ask the checkpoint coordinator of {Pipeline} for barriers", plan.Id);
            }
        }
    }

    private async Task AckBarrierAsync(string pipeline, long attempt, long checkpoint, int source, int partition, long position, long watermark)
    {
        try
        {
            await grains.GetGrain<ICheckpointProtocolGrain>(pipeline).AckSourceAsync(attempt, checkpoint, source, partition, position, watermark);
        }
        catch (Exception ex)
        {
            // The checkpoint will time out and be counted as failed; the next one gets a fresh barrier.
            logger.LogWarning(ex, "Could not acknowledge barrier {Checkpoint} of {Pipeline}", checkpoint, pipeline);
        }
    }

    private async Task ReportAsync()
    {
        foreach (var task in _tasks.ToArray())
        {
            try
            {
                await grains.GetGrain<IPipelineReportsGrain>(task.Plan.Id).ReportSourceAsync(task.Report());
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Could not report source progress of pipeline {Pipeline}", task.Plan.Id);
            }
        }
    }
}
