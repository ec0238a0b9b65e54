using Sluice.Grains;

namespace Sluice.AspNetCore;

/// <summary>
/// Everything an operator looks at for one pipeline: throughput and backpressure per stage, watermarks and how far
/// they trail the wall clock, consumer lag per source partition, the attempts (restarts with their reasons) and the
/// checkpoint history. Times are epoch milliseconds; lags are milliseconds behind the silo's clock at the answer.
/// </summary>
public sealed record PipelineDetails(
    string Id,
    string Status,
    long RecordsIn,
    long RecordsOut,
    double RecordsInPerSecond,
    double RecordsOutPerSecond,
    long? EventTimeWatermark,
    long? WatermarkLagMilliseconds,
    string? LastError,
    RecoveryInfo? Recovery,
    IReadOnlyList<StageDetails> Stages,
    IReadOnlyList<SourcePartitionDetails> Sources,
    IReadOnlyList<AttemptInfo> Attempts,
    CheckpointInfo? LastCompletedCheckpoint,
    IReadOnlyList<CheckpointInfo> Checkpoints)
{
    internal static PipelineDetails From(PipelineStatus s, IReadOnlyList<AttemptInfo> attempts, IReadOnlyList<CheckpointInfo> checkpoints, long now)
    {
        var watermark = Known(s.EventTimeWatermark);
        var stages = new List<StageDetails>(s.Stages.Count);
        foreach (var stage in s.Stages)
        {
            var w = Known(stage.Watermark);
            stages.Add(new StageDetails(
                stage.Index, stage.Name, stage.Parallelism, stage.ActiveTasks, stage.RecordsIn, stage.RecordsOut,
                stage.RecordsInPerSecond, stage.RecordsOutPerSecond, w, Lag(w, now), stage.BackpressureMilliseconds,
                stage.BackpressureRatio, stage.StateEntries));
        }

        var sources = new List<SourcePartitionDetails>(s.Sources.Count);
        foreach (var p in s.Sources)
        {
            var w = Known(p.Watermark);
            sources.Add(new SourcePartitionDetails(p.Source, p.Partition, p.RecordsRead, p.Backlog, w, Lag(w, now), p.Idle, p.Ended, p.DeadLetters));
        }

        CheckpointInfo? last = null;
        foreach (var c in checkpoints)
        {
            if (c.State == CheckpointState.Completed)
            {
                last = c;
            }
        }

        return new PipelineDetails(
            s.Id, s.State.ToString(), s.RecordsIn, s.RecordsOut, s.RecordsInPerSecond, s.RecordsOutPerSecond, watermark,
            Lag(watermark, now), s.LastError, s.Recovery, stages, sources, attempts, last, checkpoints);
    }

    /// <summary>A watermark that says something: not before the first one (long.MinValue) nor after the end (long.MaxValue).</summary>
    internal static long? Known(long watermark) => watermark is long.MinValue or long.MaxValue ? null : watermark;

    private static long? Lag(long? watermark, long now) => watermark is { } w ? Math.Max(0, now - w) : null;
}

/// <summary>One stage: its throughput, watermark and lag, and how long it waited on full buffers downstream.</summary>
/// <param name="BackpressureMilliseconds">Time its tasks waited for room in full exchange buffers, summed, since they started.</param>
/// <param name="BackpressureRatio">Share of the last report interval its busiest task was blocked (0..1).</param>
public sealed record StageDetails(
    int Index,
    string Name,
    int Parallelism,
    int ActiveTasks,
    long RecordsIn,
    long RecordsOut,
    double RecordsInPerSecond,
    double RecordsOutPerSecond,
    long? Watermark,
    long? WatermarkLagMilliseconds,
    long BackpressureMilliseconds,
    double BackpressureRatio,
    long StateEntries);

/// <summary>One source partition: records read, consumer lag (records waiting in the partition), watermark and lag.</summary>
public sealed record SourcePartitionDetails(
    string Source,
    int Partition,
    long RecordsRead,
    long ConsumerLag,
    long? Watermark,
    long? WatermarkLagMilliseconds,
    bool Idle,
    bool Ended,
    long DeadLetters);

/// <summary>Body of POST /api/pipelines/{id}/stop: the savepoint to take before stopping.</summary>
public sealed record StopRequest(string Savepoint);

/// <summary>Body of POST /api/pipelines/{id}/start: a savepoint to start from, or none for the newest checkpoint.</summary>
public sealed record StartRequest(string? Savepoint);

/// <summary>The answer to a command: the pipeline and what was asked.</summary>
public sealed record CommandAccepted(string Pipeline, string Command, string? Savepoint);
