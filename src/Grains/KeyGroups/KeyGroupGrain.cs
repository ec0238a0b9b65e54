using Microsoft.Extensions.Logging;
using Orleans.Streams;
using Orleans.Streams.Core;
using Sluice.Checkpointing;
using Sluice.Diagnostics;
using Sluice.Exchange;
using Sluice.Pipelines;
using Sluice.Sources;
using Sluice.Status;
using Sluice.Storage;
using Sluice.Tasks;

namespace Sluice.KeyGroups;

/// <summary>
/// One key group of a keyed stage (or one sink task): holds the state and timers of every key in the group
/// and runs the stage's chain on batches. Input arrives by stream delivery (from source partitions) or by
/// exchange calls (from an upstream stage); both go through one <see cref="InputGate"/>. A single grain
/// timer flushes exchange buffers, fires processing-time timers and reports progress.
/// </summary>
[ImplicitStreamSubscription(SourceStreams.Namespace)]
[KeepAlive]
internal sealed partial class KeyGroupGrain(PipelineRegistry registry, ILogger<KeyGroupGrain> logger)
    : Grain, IKeyGroupGrain, IStreamSubscriptionObserver, IAsyncBatchObserver<ChannelBatch>
{
    private static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(1);
    private readonly ILogger _logger = logger;
    private PipelinePlan _plan = null!;
    private StagePlan _stage = null!;
    private int _taskIndex;
    private IStageTask _task = null!;
    private InputGate _gate = null!;
    private List<ExchangeSender> _senders = null!;
    private UserErrorReporter _errors = null!;
    private IGrainTimer? _timer;
    private long _lastReportAt;
    private TaskReport? _lastReport;
    private bool _finished;
    private long _publishedBatches;
    private long _publishedBareWatermarks;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var (pipelineId, stage, task) = PipelinePlan.ParseTaskKey(this.GetPrimaryKeyString());
        _plan = registry.Get(pipelineId);
        _stage = _plan.GetStage(stage);
        _taskIndex = task;
        var name = $"{pipelineId}/{_stage.Name}[{task}]";
        _errors = new UserErrorReporter(logger, name, Now);
        var context = new GrainTaskContext(this, _plan, task, ServiceProvider, Now, _errors);
        _task = _stage.Head.Accept(new StageTaskBuilder(context, name));
        _senders = context.Senders;
        _gate = new InputGate(_stage.ChannelsOf(task));
        _timer = this.RegisterGrainTimer(OnTickAsync, new GrainTimerCreationOptions(_plan.Options.BufferTimeout, _plan.Options.BufferTimeout) { Interleave = false });
        await RestoreAsync();
    }

    /// <summary>Loads this task's state from the newest complete checkpoint, if the pipeline has one.</summary>
    private async Task RestoreAsync()
    {
        var catalog = ServiceProvider.GetService(typeof(CheckpointCatalog)) as CheckpointCatalog;
        if (catalog is null || await catalog.LatestAsync(_plan) is not { } checkpoint)
        {
            return;
        }

        var state = checkpoint.Tasks.FirstOrDefault(t => t.Stage == _stage.Index && t.Task == _taskIndex);
        if (state?.BlobPath is not { } path)
        {
            return;
        }

        var blob = await catalog.Store.GetAsync(path)
            ?? throw new InvalidOperationException($"Checkpoint {checkpoint.CheckpointId} of '{_plan.Id}' names {path}, which the store does not have.");
        _task.Restore(blob);
        _logger.LogInformation("{Task} restored {Entries} state entries from checkpoint {Checkpoint}", this.GetPrimaryKeyString(), _task.StateEntries, checkpoint.CheckpointId);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        foreach (var sender in _senders ?? [])
        {
            sender.Stop();
        }

        if (!_finished && _task is { StateEntries: > 0 } && reason.ReasonCode != DeactivationReasonCode.ShuttingDown)
        {
            // Until checkpoints land, state lost here is lost: say so loudly.
            LogDeactivatedWithState(logger, this.GetPrimaryKeyString(), reason.ToString(), _task.StateEntries);
        }

        await ReportAsync(force: true);
    }

    public Task DeliverAsync(ChannelBatch batch) => HandleAsync(batch);

    public Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        handleFactory.Create<ChannelBatch>().ResumeAsync(this);

    public async Task OnNextAsync(IList<SequentialItem<ChannelBatch>> items)
    {
        foreach (var item in items)
        {
            await HandleAsync(item.Item);
        }
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex)
    {
        logger.LogError(ex, "Stream delivery to {Task} failed", this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    private Task HandleAsync(ChannelBatch batch)
    {
        if (!_gate.TryAccept(batch))
        {
            return Task.CompletedTask;
        }

        return HandleAcceptedAsync(batch);
    }

    private async Task HandleAcceptedAsync(ChannelBatch batch)
    {
        if (_gate.IsHeld(batch.Channel))
        {
            // This channel already delivered the barrier being aligned: its later messages wait.
            _gate.Hold(batch);
            return;
        }

        Process(batch);
        var aligned = (batch.Flags & ChannelFlags.Barrier) != 0 ? _gate.OnBarrier(batch, Now()) : _gate.IsAligned;
        if (aligned)
        {
            await CompleteAlignmentAsync();
        }

        await WaitForCapacityAsync();
    }

    private void Process(ChannelBatch batch)
    {
        if (batch.Records is { } records)
        {
            _task.Process(records);
        }

        var wasIdle = _gate.Idle;
        if (_gate.Update(batch))
        {
            if (_gate.Ended)
            {
                _task.OnEndOfInput();
                _finished = true;
            }
            else
            {
                _task.OnWatermark(_gate.Watermark);
            }
        }

        if (wasIdle != _gate.Idle)
        {
            _task.OnIdle(_gate.Idle);
        }
    }

    /// <summary>
    /// Every input delivered Barrier(n): copy the state, pass the barrier on, release the held messages and
    /// upload the copy in the background (processing does not wait for the store).
    /// </summary>
    private async Task CompleteAlignmentAsync()
    {
        var checkpoint = _gate.AligningCheckpoint;
        var alignment = Now() - _gate.AlignmentStartedAt;
        Task<byte[]?> state;
        try
        {
            state = _task.SnapshotAsync(checkpoint);
        }
        catch (Exception ex)
        {
            state = Task.FromException<byte[]?>(ex);
        }

        foreach (var sender in _senders)
        {
            sender.Barrier(checkpoint);
        }

        _ = UploadAndAcknowledgeAsync(checkpoint, state, alignment);
        foreach (var held in _gate.Release())
        {
            await HandleAcceptedAsync(held);
        }
    }

    private async Task UploadAndAcknowledgeAsync(long checkpoint, Task<byte[]?> snapshot, long alignment)
    {
        string? path = null;
        string? failure = null;
        byte[]? state = null;
        try
        {
            state = await snapshot;
        }
        catch (Exception ex)
        {
            failure = $"snapshot failed: {ex.Message}";
        }

        if (state is not null && failure is null)
        {
            path = CheckpointLayout.TaskBlob(_plan.Id, checkpoint, _stage.Index, _taskIndex);
            try
            {
                var store = ServiceProvider.GetService(typeof(ICheckpointStore)) as ICheckpointStore
                    ?? throw new InvalidOperationException("no checkpoint store is registered");
                await store.PutAsync(path, state);
            }
            catch (Exception ex)
            {
                failure = $"upload of {path} failed: {ex.Message}";
            }
        }

        try
        {
            await GrainFactory.GetGrain<ICheckpointProtocolGrain>(_plan.Id)
                .AckTaskAsync(new TaskCheckpointAck(checkpoint, _stage.Index, _taskIndex, path, state?.Length ?? 0, alignment, failure));
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Could not acknowledge checkpoint {Checkpoint} of {Task}", checkpoint, this.GetPrimaryKeyString());
        }
    }

    private Task WaitForCapacityAsync()
    {
        foreach (var sender in _senders)
        {
            var wait = sender.WaitForCapacityAsync();
            if (!wait.IsCompleted)
            {
                return WaitAllAsync();
            }
        }

        return Task.CompletedTask;
    }

    private async Task WaitAllAsync()
    {
        foreach (var sender in _senders)
        {
            await sender.WaitForCapacityAsync();
        }
    }

    private async Task OnTickAsync(CancellationToken cancellationToken)
    {
        var now = Now();
        if (_task.NextProcessingTime is { } next && next <= now)
        {
            _task.OnProcessingTime(now);
        }

        foreach (var sender in _senders)
        {
            sender.OnTick(now);
        }

        if (now - _lastReportAt >= (long)ReportInterval.TotalMilliseconds)
        {
            _lastReportAt = now;
            await ReportAsync(force: false);
        }
    }

    private async Task ReportAsync(bool force)
    {
        if (_task is null)
        {
            return;
        }

        var c = _task.Counters;
        var report = new TaskReport(
            _stage.Index, _taskIndex, c.RecordsIn, c.RecordsOut, _gate.Watermark, c.LateRecordsDropped, c.InvalidRecords,
            _errors.LastError, _task.StateEntries, _gate.DuplicatesDropped, _finished && _senders.TrueForAll(s => s.IsDrained));
        if (!force && report == _lastReport)
        {
            return;
        }

        PublishMetrics(report);

        try
        {
            await GrainFactory.GetGrain<IPipelineReportsGrain>(_plan.Id).ReportTaskAsync(report);
            _lastReport = report;
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not report progress of {Task}", this.GetPrimaryKeyString());
        }
    }

    private void PublishMetrics(TaskReport report)
    {
        var last = _lastReport;
        SluiceInstruments.RecordsProcessed.Add(report.RecordsIn - (last?.RecordsIn ?? 0));
        SluiceInstruments.LateRecordsDropped.Add(report.LateRecordsDropped - (last?.LateRecordsDropped ?? 0));
        SluiceInstruments.InvalidRecords.Add(report.InvalidRecords - (last?.InvalidRecords ?? 0));
        SluiceInstruments.DuplicatesDropped.Add(report.DuplicatesDropped - (last?.DuplicatesDropped ?? 0));
        long batches = 0, bare = 0;
        foreach (var sender in _senders)
        {
            batches += sender.BatchesSent;
            bare += sender.BareWatermarksSent;
        }

        SluiceInstruments.ExchangeBatches.Add(batches - _publishedBatches);
        SluiceInstruments.ExchangeBareWatermarks.Add(bare - _publishedBareWatermarks);
        _publishedBatches = batches;
        _publishedBareWatermarks = bare;
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Key group {Task} deactivated ({Reason}) while holding {Entries} state entries; without checkpoints this state is gone")]
    private static partial void LogDeactivatedWithState(ILogger logger, string task, string reason, int entries);

    /// <summary>Wires a task's outputs to exchange senders that call the next stage's grains.</summary>
    private sealed class GrainTaskContext(KeyGroupGrain grain, PipelinePlan plan, int task, IServiceProvider services, Func<long> clock, UserErrorReporter errors)
        : TaskBuildContext(plan, task, services, clock, errors)
    {
        public List<ExchangeSender> Senders { get; } = [];

        public override InputPlan InputOf(StagePlan target) => target.InputFrom(fromSource: false, grain._stage.Index);

        public override IBufferedOutput CreateOutput(StagePlan target, IRecordBatchBuilder[] buffers)
        {
            var senderChannel = InputOf(target).ChannelOffset + TaskIndex;
            var sender = new ExchangeSender(
                grain.GrainFactory, Plan, target, senderChannel, TargetsOf(target), buffers, grain._logger, Clock,
                reason => Errors.Report(new InvalidOperationException(reason), "sending downstream"));
            Senders.Add(sender);
            Outputs.Add(sender);
            return sender;
        }
    }
}
