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
    private readonly Dictionary<string, long> _pendingCheckpoints = new(StringComparer.Ordinal);
    private long _lastCheckpointPollAt;
    private readonly List<ISourcePartitionTask> _tasks = [];
    private readonly HashSet<(string Pipeline, int Source, int Partition)> _known = [];
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

            long checkpoint;
            lock (_pendingCheckpoints)
            {
                checkpoint = _pendingCheckpoints.GetValueOrDefault(task.Plan.Id);
            }

            if (checkpoint > task.LastBarrier)
            {
                var position = task.InjectBarrier(checkpoint, output);
                var (source, partition) = task.Identity;
                _ = AckBarrierAsync(task.Plan.Id, checkpoint, source, partition, position);
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
        foreach (var task in _tasks)
        {
            if (task.DeliveredPosition >= 0)
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
        var catalog = services.GetService(typeof(CheckpointCatalog)) as CheckpointCatalog;
        foreach (var plan in registry.Plans)
        {
            foreach (var source in plan.Sources)
            {
                for (var p = 0; p < source.Partitions; p++)
                {
                    if (QueueOf(plan.Id, source.Name, p, queueCount) != queueIndex || !_known.Add((plan.Id, source.Index, p)))
                    {
                        continue;
                    }

                    var task = Open(plan, source, p);
                    var handover = await HandoverAsync(plan, source.Index, p);
                    if (handover >= 0)
                    {
                        // Another silo gave this partition up mid-run: continue after what it delivered.
                        task.Seek(handover);
                        logger.LogInformation("Partition {Partition} of {Source} ({Pipeline}) taken over at {Position}", p, source.Name, plan.Id, handover);
                    }
                    else if (catalog is not null && await catalog.LatestAsync(plan) is { } checkpoint
                        && checkpoint.Sources.FirstOrDefault(s => s.Source == source.Index && s.Partition == p) is { Position: >= 0 } position)
                    {
                        // Resume where the newest complete checkpoint says this partition was.
                        task.Seek(position.Position);
                        logger.LogInformation("Partition {Partition} of {Source} ({Pipeline}) resumes at {Position} from checkpoint {Checkpoint}", p, source.Name, plan.Id, position.Position, checkpoint.CheckpointId);
                    }

                    _tasks.Add(task);
                    logger.LogInformation("Queue {Queue} reads partition {Partition} of source {Source} of pipeline {Pipeline}", queueIndex, p, source.Name, plan.Id);
                }
            }
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

    private ISourcePartitionTask Open(PipelinePlan plan, SourcePlan source, int partition)
    {
        var errors = new UserErrorReporter(logger, $"{plan.Id}/{source.Name}[{partition}]", static () => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var pull = new SourcePullContext(() => ++_token);
        var context = new SourceTaskContext(plan, source, partition, services, static () => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), errors, pull);
        return source.Node.Accept(new SourceTaskFactory(context, source, partition, pull));
    }

    /// <summary>Asks the coordinators of checkpointed pipelines read here which checkpoint is open (one call per pipeline, not per partition).</summary>
    private async Task PollCheckpointsAsync()
    {
        foreach (var plan in _tasks.Select(t => t.Plan).Where(p => p.Options.CheckpointInterval is not null).Distinct().ToArray())
        {
            try
            {
                var pending = await grains.GetGrain<Checkpointing.ICheckpointProtocolGrain>(plan.Id).GetPendingCheckpointAsync();
                lock (_pendingCheckpoints)
                {
                    _pendingCheckpoints[plan.Id] = pending;
                }
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Could not ask the checkpoint coordinator of {Pipeline} for barriers", plan.Id);
            }
        }
    }

    private async Task AckBarrierAsync(string pipeline, long checkpoint, int source, int partition, long position)
    {
        try
        {
            await grains.GetGrain<Checkpointing.ICheckpointProtocolGrain>(pipeline).AckSourceAsync(checkpoint, source, partition, position);
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
