using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Sluice.Diagnostics;

/// <summary>
/// Sluice's meter and activity source, both named "Sluice" (beside Orleans' "Microsoft.Orleans").
/// Counters are added to in bulk (per pull, per report), never per record.
/// </summary>
internal static class SluiceInstruments
{
    public const string Name = "Sluice";

    public static readonly Meter Meter = new(Name);

    public static readonly ActivitySource ActivitySource = new(Name);

    public static readonly Counter<long> RecordsRead = Meter.CreateCounter<long>("sluice.source.records", "{record}", "Records read from source partitions");

    public static readonly Counter<long> RecordsProcessed = Meter.CreateCounter<long>("sluice.task.records_in", "{record}", "Records processed by keyed and sink tasks");

    public static readonly Counter<long> LateRecordsDropped = Meter.CreateCounter<long>("sluice.records.late", "{record}", "Records that arrived after all their windows closed");
    public static readonly Counter<long> LateRecordsSideOutput = Meter.CreateCounter<long>("sluice.records.late.side_output", "{record}", "Records that arrived after all their windows closed and went to a late-data side output");

    public static readonly Counter<long> InvalidRecords = Meter.CreateCounter<long>("sluice.records.invalid", "{record}", "Records dropped because a user function threw or a key was null");

    public static readonly Counter<long> ExchangeBatches = Meter.CreateCounter<long>("sluice.exchange.batches", "{batch}", "Batches sent between stages");

    public static readonly Counter<long> ExchangeBareWatermarks = Meter.CreateCounter<long>("sluice.exchange.watermarks", "{message}", "Watermark-only control messages sent between stages");

    public static readonly Counter<long> CheckpointsCompleted = Meter.CreateCounter<long>("sluice.checkpoints.completed", "{checkpoint}", "Checkpoints whose _metadata was committed");

    public static readonly Counter<long> CheckpointsFailed = Meter.CreateCounter<long>("sluice.checkpoints.failed", "{checkpoint}", "Checkpoints that timed out or could not be stored");

    public static readonly Counter<long> Restarts = Meter.CreateCounter<long>("sluice.pipeline.restarts", "{restart}", "Global restarts of pipelines from their last complete checkpoint");

    public static readonly Counter<long> StaleMessagesDropped = Meter.CreateCounter<long>("sluice.exchange.stale_dropped", "{message}", "Messages of an earlier pipeline attempt dropped on arrival");

    public static readonly Counter<long> DuplicatesDropped = Meter.CreateCounter<long>("sluice.exchange.duplicates", "{batch}", "Redelivered batches dropped by sequence number");

    public static readonly Counter<long> ExchangeGaps = Meter.CreateCounter<long>(
        "sluice.exchange.gaps", "{batch}", "Batches that arrived after missing ones on their channel (with checkpoints the task fails and the pipeline restarts)");
}
