using System.Diagnostics;
using Sluice.Grains;

namespace Sluice.Diagnostics;

/// <summary>
/// The coordinator's records of checkpoints and recoveries: metrics and a span each. Spans are written when the
/// outcome is known, with the start time they began at, so no activity stays open across grain turns.
/// </summary>
internal static partial class SluiceInstruments
{
    public const string CheckpointActivity = "sluice.checkpoint";

    public const string RecoveryActivity = "sluice.recovery";

    /// <summary>A checkpoint finished (completed or failed): counters, histograms and its span.</summary>
    public static void RecordCheckpoint(string pipeline, CheckpointInfo info, bool savepoint)
    {
        var tag = PipelineTag(pipeline);
        CheckpointDuration.Record(info.DurationMilliseconds, tag, new("state", info.State == CheckpointState.Completed ? "completed" : "failed"));
        if (info.State == CheckpointState.Completed)
        {
            CheckpointsCompleted.Add(1, tag);
            CheckpointSize.Record(info.Bytes, tag);
            CheckpointAlignment.Record(info.MaxAlignmentMilliseconds, tag);
        }
        else
        {
            CheckpointsFailed.Add(1, tag);
        }

        if (!ActivitySource.HasListeners())
        {
            return;
        }

        using var activity = ActivitySource.StartActivity(CheckpointActivity, ActivityKind.Internal, parentContext: default, startTime: info.StartedAt);
        if (activity is null)
        {
            return;
        }

        activity.SetTag("sluice.pipeline", pipeline);
        activity.SetTag("sluice.checkpoint.id", info.Id);
        activity.SetTag("sluice.checkpoint.savepoint", savepoint);
        activity.SetTag("sluice.checkpoint.bytes", info.Bytes);
        activity.SetTag("sluice.checkpoint.alignment_ms", info.MaxAlignmentMilliseconds);
        if (info.Failure is { } failure)
        {
            activity.SetStatus(ActivityStatusCode.Error, failure);
        }

        activity.SetEndTime((info.StartedAt + TimeSpan.FromMilliseconds(info.DurationMilliseconds)).UtcDateTime);
    }

    /// <summary>A restart was requested (the pipeline goes back to its last complete checkpoint).</summary>
    public static void RecordRestart(string pipeline) => Restarts.Add(1, PipelineTag(pipeline));

    /// <summary>
    /// A recovery ended: from the failure being detected until the first checkpoint after the restart completed
    /// (<paramref name="failure"/> null) or the pipeline gave up (its reason).
    /// </summary>
    public static void RecordRecovery(string pipeline, DateTimeOffset detectedAt, string? reason, int restarts, string? failure)
    {
        if (!ActivitySource.HasListeners())
        {
            return;
        }

        using var activity = ActivitySource.StartActivity(RecoveryActivity, ActivityKind.Internal, parentContext: default, startTime: detectedAt);
        if (activity is null)
        {
            return;
        }

        activity.SetTag("sluice.pipeline", pipeline);
        activity.SetTag("sluice.restart.reason", reason);
        activity.SetTag("sluice.restart.count", restarts);
        if (failure is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, failure);
        }
    }
}
