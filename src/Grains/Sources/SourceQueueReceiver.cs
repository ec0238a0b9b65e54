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
internal sealed partial class SourceQueueReceiver(
    int queueIndex, int queueCount, PipelineRegistry registry, CheckpointCatalog catalog, SiloAddress silo, IServiceProvider services,
    IGrainFactory grains, ILogger logger)
    : IQueueAdapterReceiver
{
    private static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan CheckpointPollInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan TakeoverPollInterval = TimeSpan.FromMilliseconds(200);
    private readonly SiloAddress _silo = silo;
    private readonly Dictionary<(string Pipeline, int Source, int Partition), long> _retryAt = [];
    private readonly Dictionary<string, AttemptDirective> _directives = new(StringComparer.Ordinal);
    private long _lastCheckpointPollAt;
    private readonly List<ISourcePartitionTask> _tasks = [];
    private readonly HashSet<(string Pipeline, int Source, int Partition)> _known = [];
    private readonly Dictionary<(string Pipeline, int Source, int Partition), long> _joinedAt = [];
    private readonly HashSet<(string Pipeline, long Attempt, int Source, int Partition)> _userFailuresReported = [];
    private readonly Dictionary<(string Pipeline, int Source, int Partition), long> _openings = [];
    private readonly Dictionary<(string Pipeline, long Attempt, int Source, int Partition), string> _unreportedFailures = [];
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
                if (directive.Failed || directive.Stopped)
                {
                    continue; // a FAILED or stopped pipeline reads nothing more
                }

                if (directive.Attempt > task.Attempt)
                {
                    task = await ReopenAsync(task, directive);
                }

                if (task.Failure is { } failure)
                {
                    // A user function failed (ErrorPolicy.Fail): no barrier and no more reading in this attempt.
                    await ReportUserFailureAsync(task, failure);
                    continue;
                }

                // Not while re-sending a previous owner's messages: the barrier must follow them. Not before the reader
                // knows its position either: the checkpoint must record where to resume, never "unknown".
                if (directive.PendingCheckpoint > task.LastBarrier && directive.Attempt == task.Attempt && !task.Replaying && task.CanTakeBarrier)
                {
                    var position = task.InjectBarrier(directive.PendingCheckpoint, output);
                    var (source, partition) = task.Identity;
                    // Not awaited: the pull must not wait for the coordinator. A lost ack only makes this checkpoint time out.
                    _ = AckBarrierAsync(task.Plan.Id, task.Attempt, directive.PendingCheckpoint, source, partition, position, task.Watermark, task.Idle); // lossless: the checkpoint times out and the next one is taken
                }

                if (directive.Attempt == task.Attempt)
                {
                    task.CheckpointCompleted(directive.LastCompleted);
                }

                if (directive.StopAfterCheckpoint > 0 && directive.Attempt == task.Attempt && task.LastBarrier >= directive.StopAfterCheckpoint)
                {
                    continue; // stopping with a savepoint: nothing is read after its barrier
                }
            }

            var before = task.RecordsRead;
            task.Poll(now, output);
            SluiceInstruments.AddPositive(SluiceInstruments.SourceRecordsIn, task.RecordsRead - before, SluiceInstruments.PipelineTag(task.Plan.Id), SluiceInstruments.SourceTag(task.SourceName));
        }

        if (now - _lastCheckpointPollAt >= (long)CheckpointPollInterval.TotalMilliseconds)
        {
            _lastCheckpointPollAt = now;
            _ = PollCheckpointsAsync(); // a periodic read of the directive: a lost poll is repeated on the next interval
        }

        if (now - _lastReportAt >= (long)ReportInterval.TotalMilliseconds)
        {
            _lastReportAt = now;
            _ = ReportAsync(); // a periodic status report: the next one carries the same totals
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
            if (message is SourceBatchContainer { Origin: { } origin } container)
            {
                origin.MarkDelivered(container);
            }
        }

        return Task.CompletedTask;
    }

    public async Task Shutdown(TimeSpan timeout)
    {
        await ReportAsync();

        // The queue moves to another silo (or this one stops): tell the next owner where this one stands, then
        // release consumers and their threads.
        foreach (var task in _tasks)
        {
            await HandOverAsync(task);
            task.Dispose();
        }

        _tasks.Clear();
        _known.Clear();
        _joinedAt.Clear();
        _userFailuresReported.Clear();
        _openings.Clear();
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
        var handover = await HandedOverPositionAsync(plan, source.Index, partition);
        if (handover >= 0)
        {
            task.Seek(handover);
            logger.LogInformation("Partition {Partition} of {Source} ({Pipeline}) taken over at {Position}", partition, source.Name, plan.Id, handover);
        }

        return task;
    }

    private async Task<long> HandedOverPositionAsync(PipelinePlan plan, int source, int partition)
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
        var errors = new UserErrorReporter(logger, $"{plan.Id}/{source.Name}[{partition}]", static () => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), plan.Options.OnError);
        var pull = new SourcePullContext(() => ++_token);
        var context = new SourceTaskContext(plan, source, partition, services, static () => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), errors, pull) { Attempt = attempt };
        return source.Node.Accept(new SourceTaskFactory(context, source, partition, pull));
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
