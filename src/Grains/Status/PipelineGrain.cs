using Sluice.Diagnostics;
using Sluice.Grains;
using Sluice.Pipelines;

namespace Sluice.Status;

/// <summary>
/// Collects the periodic reports of a pipeline's tasks and answers status queries. Reports carry totals,
/// not deltas, so a repeated or lost report never skews the sums.
/// </summary>
[Orleans.Placement.Immovable] // nothing to carry: its reports are repeated within a second wherever it is activated next
internal sealed class PipelineGrain(PipelineRegistry registry) : Grain, IPipelineGrain, IPipelineReportsGrain
{
    private readonly Dictionary<(int Stage, int Task), TaskReport> _tasks = [];
    private readonly Dictionary<(int Source, int Partition), SourceReport> _sources = [];
    private readonly Dictionary<(int Source, int Partition), long> _handovers = [];
    private readonly ReportRates _taskRates = new();
    private readonly ReportRates _sourceRates = new();
    private PipelineMetrics? _metrics;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (registry.TryGet(this.GetPrimaryKeyString(), out var plan))
        {
            _metrics = new PipelineMetrics(plan);
            PipelineGauges.Add(_metrics);
        }

        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_metrics is not null)
        {
            PipelineGauges.Remove(_metrics);
        }

        return Task.CompletedTask;
    }

    public Task HandOverAsync(int source, int partition, long position)
    {
        _handovers[(source, partition)] = Math.Max(position, _handovers.GetValueOrDefault((source, partition), -1));
        return Task.CompletedTask;
    }

    public Task<long> GetHandoverAsync(int source, int partition) => Task.FromResult(_handovers.GetValueOrDefault((source, partition), -1));

    public Task ReportTaskAsync(TaskReport report)
    {
        _tasks[(report.Stage, report.Task)] = report;
        _metrics?.OnTaskReport(report);
        _taskRates.Observe((report.Stage, report.Task), Now(), report.RecordsIn, report.RecordsOut, report.BackpressureMilliseconds);
        return Task.CompletedTask;
    }

    public Task ReportSourceAsync(SourceReport report)
    {
        _sources[(report.Source, report.Partition)] = report;
        _metrics?.OnSourceReport(report);
        _sourceRates.Observe((report.Source, report.Partition), Now(), report.RecordsRead, 0, 0);
        return Task.CompletedTask;
    }

    public async Task<PipelineStatus> GetStatusAsync()
    {
        var id = this.GetPrimaryKeyString();
        if (!registry.TryGet(id, out var plan))
        {
            throw new KeyNotFoundException($"Pipeline '{id}' is not registered.");
        }

        var stages = new List<StageStatus>();
        var sinkTasks = 0;
        var finishedSinkTasks = 0;
        var sinkWatermark = long.MaxValue;
        long recordsOut = 0;
        var activeKeyGroups = 0;
        var now = Now();
        double recordsOutRate = 0;
        foreach (var stage in plan.Stages)
        {
            long inCount = 0, outCount = 0, state = 0, duplicates = 0, late = 0, lateSide = 0, blocked = 0;
            double inRate = 0, outRate = 0, blockedRatio = 0;
            var watermark = long.MaxValue;
            var active = 0;
            for (var t = 0; t < stage.Parallelism; t++)
            {
                if (!_tasks.TryGetValue((stage.Index, t), out var r))
                {
                    watermark = long.MinValue;
                    continue;
                }

                active++;
                inCount += r.RecordsIn;
                outCount += r.RecordsOut;
                state += r.StateEntries;
                duplicates += r.DuplicatesDropped;
                late += r.LateRecordsDropped;
                lateSide += r.LateRecordsSideOutput;
                blocked += r.BackpressureMilliseconds;
                var rates = _taskRates.Of((stage.Index, t), now);
                inRate += rates.In;
                outRate += rates.Out;
                blockedRatio = Math.Max(blockedRatio, rates.Blocked);
                watermark = Math.Min(watermark, r.Watermark);
                if (stage.Kind == StageKind.Sink && r.Finished)
                {
                    finishedSinkTasks++;
                }
            }

            if (stage.Kind == StageKind.Sink)
            {
                sinkTasks += stage.Parallelism;
                recordsOut += outCount;
                recordsOutRate += outRate;
                sinkWatermark = Math.Min(sinkWatermark, watermark);
            }
            else
            {
                activeKeyGroups += active;
            }

            stages.Add(new StageStatus(stage.Index, stage.Name, stage.Parallelism, active, inCount, outCount, watermark, state, duplicates)
            {
                LateRecordsDropped = late,
                LateRecordsSideOutput = lateSide,
                RecordsInPerSecond = inRate,
                RecordsOutPerSecond = outRate,
                BackpressureMilliseconds = blocked,
                BackpressureRatio = blockedRatio,
            });
        }

        var lastError = _tasks.Values.Select(r => r.LastError).Concat(_sources.Values.Select(s => s.LastError)).LastOrDefault(e => e is not null);
        var state1 = _tasks.Count == 0 && _sources.Count == 0 ? PipelineState.Created
            : sinkTasks > 0 && finishedSinkTasks == sinkTasks ? PipelineState.Finished
            : PipelineState.Running;
        RecoveryInfo? recovery = null;
        var failure = _tasks.Values.Select(r => r.Failure).Concat(_sources.Values.Select(s => s.Failure)).FirstOrDefault(f => f is not null);
        if (failure is not null && plan.Options.CheckpointInterval is null)
        {
            // A user function failed and nothing can replay its record: the pipeline stopped.
            state1 = PipelineState.Failed;
            lastError = failure;
        }
        else if (plan.Options.CheckpointInterval is not null)
        {
            recovery = await GrainFactory.GetGrain<ICheckpointCoordinatorGrain>(id).GetRecoveryAsync();
            if (recovery.Failed)
            {
                state1 = PipelineState.Failed;
                lastError = recovery.FailureReason;
            }
            else if (recovery.Stopped)
            {
                state1 = PipelineState.Stopped;
            }
        }

        return new PipelineStatus
        {
            Id = id,
            State = state1,
            Recovery = recovery,
            RecordsIn = _sources.Values.Sum(s => s.RecordsRead),
            RecordsOut = recordsOut,
            RecordsInPerSecond = _sources.Keys.Sum(k => _sourceRates.Of(k, now).In),
            RecordsOutPerSecond = recordsOutRate,
            EventTimeWatermark = sinkWatermark == long.MaxValue && finishedSinkTasks < sinkTasks ? long.MinValue : sinkWatermark,
            KeyGroups = plan.KeyGroups,
            ActiveKeyGroups = activeKeyGroups,
            LateRecordsDropped = _tasks.Values.Sum(r => r.LateRecordsDropped),
            LateRecordsSideOutput = _tasks.Values.Sum(r => r.LateRecordsSideOutput),
            InvalidRecords = _tasks.Values.Sum(r => r.InvalidRecords) + _sources.Values.Sum(s => s.InvalidRecords),
            DeadLetters = _sources.Values.Sum(s => s.DeadLetters),
            LastError = lastError,
            Stages = stages,
            Sources = _sources.Values
                .OrderBy(s => s.Source).ThenBy(s => s.Partition)
                .Select(s => new SourcePartitionStatus(plan.Sources[s.Source].Name, s.Partition, s.RecordsRead, s.Watermark, s.Idle, s.Backlog, s.Ended, s.DeadLetters)
                {
                    Position = s.Position,
                    EndPosition = s.EndPosition,
                })
                .ToList(),
        };
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}
