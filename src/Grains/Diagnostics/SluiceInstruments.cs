using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Sluice.Diagnostics;

/// <summary>
/// Sluice's meter and activity source, both named "Sluice" (beside Orleans' "Microsoft.Orleans").
/// Counters are added to in bulk (per pull, per report), never per record, each by the one place that counts it:
/// records read by the source receiver per pull, a stage's records by its key-group grains per progress report, a
/// source's invalid records and dead letters by the pipeline grain from source reports (<see cref="PipelineMetrics"/>).
/// Per-pipeline series carry the tags <c>pipeline</c>, <c>stage</c>, <c>source</c> and <c>partition</c>; gauges read
/// the latest task and source reports the pipeline grains of this silo hold (<see cref="PipelineGauges"/>). The
/// exchange counters are engine-wide, untagged.
/// </summary>
internal static partial class SluiceInstruments
{
    public const string Name = "Sluice";

    public static readonly Meter Meter = new(Name);

    public static readonly ActivitySource ActivitySource = new(Name);

    public static readonly Counter<long> ExchangeBatches = Meter.CreateCounter<long>("sluice.exchange.batches", "{batch}", "Batches sent between stages");

    public static readonly Counter<long> ExchangeBareWatermarks = Meter.CreateCounter<long>("sluice.exchange.watermarks", "{message}", "Watermark-only control messages sent between stages");

    public static readonly Counter<long> CheckpointsCompleted = Meter.CreateCounter<long>("sluice.checkpoints.completed", "{checkpoint}", "Checkpoints whose _metadata was committed");

    public static readonly Counter<long> CheckpointsFailed = Meter.CreateCounter<long>("sluice.checkpoints.failed", "{checkpoint}", "Checkpoints that timed out or could not be stored");

    public static readonly Counter<long> Restarts = Meter.CreateCounter<long>("sluice.pipeline.restarts", "{restart}", "Global restarts of pipelines from their last complete checkpoint");

    public static readonly Counter<long> StaleMessagesDropped = Meter.CreateCounter<long>("sluice.exchange.stale_dropped", "{message}", "Messages of an earlier pipeline attempt dropped on arrival");

    public static readonly Counter<long> DuplicatesDropped = Meter.CreateCounter<long>("sluice.exchange.duplicates", "{batch}", "Redelivered batches dropped by sequence number");

    public static readonly Counter<long> ExchangeGaps = Meter.CreateCounter<long>(
        "sluice.exchange.gaps", "{batch}", "Batches that arrived after missing ones on their channel (with checkpoints the task fails and the pipeline restarts)");

    public static readonly Counter<long> StageRecordsIn = Meter.CreateCounter<long>("sluice.stage.records_in", "{record}", "Records a stage's tasks took in, per pipeline and stage");

    public static readonly Counter<long> StageRecordsOut = Meter.CreateCounter<long>("sluice.stage.records_out", "{record}", "Records a stage's tasks emitted, per pipeline and stage");

    public static readonly Counter<long> SourceRecordsIn = Meter.CreateCounter<long>("sluice.source.records_in", "{record}", "Records read from a source, per pipeline and source");

    public static readonly Counter<long> StageLateRecords = Meter.CreateCounter<long>("sluice.stage.records_late", "{record}", "Records dropped as late, per pipeline and stage");

    public static readonly Counter<long> StageLateRecordsSideOutput = Meter.CreateCounter<long>(
        "sluice.stage.records_late_side_output", "{record}", "Late records a stage's windows sent to their late-data side output instead of dropping them, per pipeline and stage");

    public static readonly Counter<long> StageInvalidRecords = Meter.CreateCounter<long>(
        "sluice.stage.records_invalid", "{record}", "Records a stage skipped or dead-lettered because a user function threw or a key was null, per pipeline and stage");

    public static readonly Counter<long> SourceInvalidRecords = Meter.CreateCounter<long>(
        "sluice.source.records_invalid", "{record}", "Records the operators chained to a source skipped or dead-lettered because a user function threw, per pipeline and source");

    public static readonly Counter<long> DeadLetters = Meter.CreateCounter<long>("sluice.source.dead_letters", "{record}", "Records a source could not deserialize and sent to its dead-letter topic (or dropped), per pipeline and source");

    public static readonly Histogram<long> CheckpointDuration = Meter.CreateHistogram<long>("sluice.checkpoint.duration", "ms", "Time from opening a checkpoint to committing (or failing) it");

    public static readonly Histogram<long> CheckpointSize = Meter.CreateHistogram<long>("sluice.checkpoint.size", "By", "Bytes a completed checkpoint uploaded");

    public static readonly Histogram<long> CheckpointAlignment = Meter.CreateHistogram<long>("sluice.checkpoint.alignment", "ms", "Longest barrier alignment of any task in a completed checkpoint");

    public static readonly ObservableGauge<long> WatermarkLag = Meter.CreateObservableGauge(
        "sluice.stage.watermark_lag", PipelineGauges.WatermarkLag, "ms", "Wall clock minus a stage's event-time watermark (the slowest task's), per pipeline and stage");

    public static readonly ObservableGauge<long> StateEntries = Meter.CreateObservableGauge(
        "sluice.stage.state_entries", PipelineGauges.StateEntries, "{entry}", "Keyed state entries a stage's tasks hold, per pipeline and stage");

    public static readonly ObservableGauge<long> ConsumerLag = Meter.CreateObservableGauge(
        "sluice.source.consumer_lag", PipelineGauges.ConsumerLag, "{record}", "Records a source partition has not read yet (Kafka: high watermark minus position), per pipeline, source and partition");

    /// <summary>Tags of one pipeline's series.</summary>
    public static KeyValuePair<string, object?> PipelineTag(string pipeline) => new("pipeline", pipeline);

    public static KeyValuePair<string, object?> StageTag(string stage) => new("stage", stage);

    public static KeyValuePair<string, object?> SourceTag(string source) => new("source", source);

    /// <summary>A stage's task counted these since its previous report (totals since activation, so never negative).</summary>
    public static void RecordStageProgress(in KeyValuePair<string, object?> pipeline, in KeyValuePair<string, object?> stage, long recordsIn, long recordsOut, long late, long lateSideOutput, long invalid)
    {
        AddPositive(StageRecordsIn, recordsIn, pipeline, stage);
        AddPositive(StageRecordsOut, recordsOut, pipeline, stage);
        AddPositive(StageLateRecords, late, pipeline, stage);
        AddPositive(StageLateRecordsSideOutput, lateSideOutput, pipeline, stage);
        AddPositive(StageInvalidRecords, invalid, pipeline, stage);
    }

    public static void AddPositive(Counter<long> counter, long delta, in KeyValuePair<string, object?> pipeline, in KeyValuePair<string, object?> other)
    {
        if (delta > 0)
        {
            counter.Add(delta, pipeline, other);
        }
    }
}
