using Microsoft.Extensions.Logging;
using Orleans.Streams;
using Orleans.Streams.Core;
using Sluice.Checkpointing;
using Sluice.Diagnostics;
using Sluice.Exchange;
using Sluice.Migration;
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
[Orleans.Placement.Immovable] // moved only by Sluice's planned moves (Migration/), never by Orleans on its own; see PlannedShutdown
internal sealed partial class KeyGroupGrain(
    PipelineRegistry registry, CheckpointCatalog catalog, LocalMovableGrains movable, LastSiloDeparture departure, ILocalSiloDetails silo,
    ILogger<KeyGroupGrain> logger)
    : Grain, IKeyGroupGrain, IStreamSubscriptionObserver, IAsyncBatchObserver<ChannelBatch>
{
    private static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(1);
    private readonly ILogger _logger = logger;
    private readonly LastSiloDeparture _departure = departure;
    private PipelinePlan _plan = null!;
    private StagePlan _stage = null!;
    private int _taskIndex;
    private IStageTask _task = null!;
    private InputGate _gate = null!;
    private List<ExchangeSender> _senders = null!;
    private UserErrorReporter _errors = null!;
    private FailureReports _failureReports = null!;
    private string _name = null!;
    private long _attempt;
    private IGrainTimer? _timer;
    private long _lastReportAt;
    private TaskReport? _lastReport;

    /// <summary>The report whose counts the metrics hold, kept apart from <see cref="_lastReport"/> so a failed report is not counted twice.</summary>
    private TaskReport? _publishedReport;
    private bool _finished;
    private long _publishedBatches;
    private long _publishedBareWatermarks;
    private long _backpressureTicks; // Stopwatch ticks spent waiting for room in full exchange buffers

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var (pipelineId, stage, task) = PipelinePlan.ParseTaskKey(this.GetPrimaryKeyString());
        _plan = registry.Get(pipelineId);
        _stage = _plan.GetStage(stage);
        _taskIndex = task;
        _name = $"{pipelineId}/{_stage.Name}[{task}]";
        _errors = new UserErrorReporter(logger, _name, Now, _plan.Options.OnError);
        _failureReports = new FailureReports(() => Coordinator, Identity, _name, logger);
        _timer = this.RegisterGrainTimer(OnTickAsync, new GrainTimerCreationOptions(_plan.Options.BufferTimeout, _plan.Options.BufferTimeout) { Interleave = false });
        await ActivateTaskAsync();
        // Known to a graceful shutdown as movable only once it runs (a failed activation never deactivates).
        movable.AddKeyGroup(this.GetPrimaryKeyString());
    }

    private async Task ActivateTaskAsync()
    {
        if (ResumeMigrated())
        {
            return;
        }

        if (_plan.Options.CheckpointInterval is null)
        {
            Build(attempt: 0);
            return;
        }

        // Join the pipeline's current attempt; a task that joined it before has lost its state, and the
        // coordinator restarts the pipeline.
        var directive = await Coordinator.JoinAsync(Identity, activation: true, LocalSilo);
        Build(directive.Attempt);
        await RestoreAsync(directive);
    }

    /// <summary>Builds the task's chain, input gate and senders afresh (at activation and at every restart).</summary>
    private void Build(long attempt)
    {
        foreach (var sender in _senders ?? [])
        {
            sender.Stop();
        }

        (_task as IDisposable)?.Dispose();
        _attempt = attempt;
        _failedInAttempt = false;
        _lastUpload = null;
        _finished = false;
        _lastReport = null;
        _publishedReport = null;
        var context = new GrainTaskContext(this, _plan, _taskIndex, ServiceProvider, Now, _errors) { Attempt = attempt };
        _task = _stage.Head.Accept(new StageTaskBuilder(context, _name));
        _senders = context.Senders;
        _gate = new InputGate(_stage.ChannelsOf(_taskIndex));
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        movable.RemoveKeyGroup(this.GetPrimaryKeyString());
        // A snapshot in flight (upload, acknowledgement, a sink's staging) finishes before the task moves or goes: what it
        // staged is in the state that moves, and the checkpoint it belongs to can complete.
        var drained = await DrainInFlightAsync(cancellationToken);
        if (PrepareMigration(reason, drained))
        {
            // OnDehydrate runs next and hands the senders' queued batches and the state over.
            await ReportAsync(force: true);
            return;
        }

        foreach (var sender in _senders ?? [])
        {
            sender.Stop();
        }

        (_task as IDisposable)?.Dispose();
        if (!_finished && _task is { StateEntries: > 0 } && _plan.Options.CheckpointInterval is null)
        {
            // Without checkpoints, state lost here is lost: say so loudly. With them, the next activation restarts the pipeline.
            LogDeactivatedWithState(logger, this.GetPrimaryKeyString(), reason.ToString(), _task.StateEntries);
        }

        await ReportAsync(force: true);
    }

    public Task DeliverAsync(ChannelBatch batch) => Guard(HandleAsync(batch));

    public Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        handleFactory.Create<ChannelBatch>().ResumeAsync(this);

    public async Task OnNextAsync(IList<SequentialItem<ChannelBatch>> items)
    {
        foreach (var item in items)
        {
            await Guard(HandleAsync(item.Item));
        }
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    /// <summary>The pulling agent gave a delivery up (it moves on past the batch): with checkpoints that fails the task.</summary>
    public Task OnErrorAsync(Exception ex)
    {
        logger.LogError(ex, "Stream delivery to {Task} failed", this.GetPrimaryKeyString());
        return _plan.Options.CheckpointInterval is null || _failedInAttempt
            ? Task.CompletedTask
            : FailInAttemptAsync($"stream delivery to {_name} was given up: {ex.Message}");
    }

    private Task HandleAsync(ChannelBatch batch)
    {
        if (batch.Attempt != _attempt || _failedInAttempt || _unfinishedReset is not null)
        {
            return HandleOtherAttemptAsync(batch);
        }

        return _gate.Classify(batch) switch
        {
            ChannelVerdict.Accepted => HandleAcceptedAsync(batch),
            ChannelVerdict.Gap => OnGapAsync(batch),
            _ => Task.CompletedTask,
        };
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
        var aligned = _gate.IsAligned;
        if ((batch.Flags & ChannelFlags.Barrier) != 0)
        {
            aligned = await OnBarrierAsync(batch);
        }

        if (aligned)
        {
            await CompleteAlignmentAsync();
        }

        await WaitForCapacityAsync();
    }

    /// <summary>Records a barrier; true when the task is now aligned.</summary>
    private async Task<bool> OnBarrierAsync(ChannelBatch batch)
    {
        switch (_gate.Order(batch.CheckpointId))
        {
            case BarrierOrder.Stale:
                return false;
            case BarrierOrder.Newer:
                // The checkpoint being aligned will not complete: align the newer one, then process what the
                // blocked channels held (it precedes their barrier of the newer checkpoint).
                var held = _gate.Abandon();
                if (_gate.OnBarrier(batch, Now()))
                {
                    await CompleteAlignmentAsync();
                }

                foreach (var message in held)
                {
                    await HandleAcceptedAsync(message);
                }

                return false;
            default:
                return _gate.OnBarrier(batch, Now());
        }
    }

    private void Process(ChannelBatch batch)
    {
        if (batch.Records is { } records)
        {
            _task.Process(records, _stage.PortOf(batch.Channel));
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
        // Backpressure: the time this task cannot take its next input because a channel downstream is full.
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        foreach (var sender in _senders)
        {
            await sender.WaitForCapacityAsync();
        }

        _backpressureTicks += System.Diagnostics.Stopwatch.GetTimestamp() - started;
    }

    private async Task OnTickAsync(CancellationToken cancellationToken)
    {
        if (!await TryFinishResetAsync())
        {
            return;
        }

        await _failureReports.RetryAsync(_attempt);

        var now = Now();
        if (_task.NextProcessingTime is { } next && next <= now && !_failedInAttempt)
        {
            try
            {
                _task.OnProcessingTime(now);
            }
            catch (UserFunctionException ex)
            {
                await FailOnUserErrorAsync(ex);
            }
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
        if (_task is null || _departure.IsUnderway || ShutdownMigration.LastSiloLeaving(ServiceProvider))
        {
            return; // (the last silo is going: no pipeline grain can be placed to hear the report)
        }

        var c = _task.Counters;
        var report = new TaskReport(
            _stage.Index, _taskIndex, c.RecordsIn, c.RecordsOut, _gate.Watermark, c.LateRecordsDropped, c.InvalidRecords,
            _errors.LastError, _task.StateEntries, _gate.DuplicatesDropped, _finished && _senders.TrueForAll(s => s.IsDrained))
        {
            Failure = _userFailure,
            LateRecordsSideOutput = c.LateRecordsSideOutput,
            BackpressureMilliseconds = _backpressureTicks * 1000 / System.Diagnostics.Stopwatch.Frequency,
        };
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
        var last = _publishedReport;
        _publishedReport = report;
        SluiceInstruments.RecordStageProgress(
            SluiceInstruments.PipelineTag(_plan.Id),
            SluiceInstruments.StageTag(_stage.Name),
            report.RecordsIn - (last?.RecordsIn ?? 0),
            report.RecordsOut - (last?.RecordsOut ?? 0),
            report.LateRecordsDropped - (last?.LateRecordsDropped ?? 0),
            report.LateRecordsSideOutput - (last?.LateRecordsSideOutput ?? 0),
            report.InvalidRecords - (last?.InvalidRecords ?? 0));
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Key group {Task} deactivated ({Reason}) while holding {Entries} state entries; the pipeline takes no checkpoints, so this state is gone")]
    private static partial void LogDeactivatedWithState(ILogger logger, string task, string reason, int entries);

    /// <summary>Wires a task's outputs to exchange senders that call the next stage's grains.</summary>
    private sealed class GrainTaskContext(KeyGroupGrain grain, PipelinePlan plan, int task, IServiceProvider services, Func<long> clock, UserErrorReporter errors)
        : TaskBuildContext(plan, task, services, clock, errors)
    {
        public List<ExchangeSender> Senders { get; } = [];

        public override InputPlan InputOf(StagePlan target, int port) => target.InputFrom(fromSource: false, grain._stage.Index, port);

        public override IBufferedOutput CreateOutput(StagePlan target, int port, IRecordBatchBuilder[] buffers)
        {
            var senderChannel = InputOf(target, port).ChannelOffset + TaskIndex;
            var sender = new ExchangeSender(
                grain.GrainFactory, Plan, target, senderChannel, TargetsOf(target, port), buffers, grain._logger, Clock,
                grain.OnChannelFailed, Attempt, grain._departure);
            Senders.Add(sender);
            Outputs.Add(sender);
            return sender;
        }
    }
}
