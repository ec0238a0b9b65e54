using System.Diagnostics.Metrics;
using Sluice.Diagnostics;

namespace Sluice.Kafka;

/// <summary>Instruments of the exactly-once Kafka sink, on Sluice's meter; added to per epoch, never per record, tagged with the pipeline and the sink.</summary>
internal static class KafkaSinkInstruments
{
    public const string PipelineTag = "pipeline";
    public const string SinkTag = "sink";

    public static readonly Counter<long> TransactionsCommitted = SluiceInstruments.Meter.CreateCounter<long>(
        "sluice.kafka.sink.transactions_committed", "{transaction}", "Kafka transactions committed by exactly-once sink tasks");

    public static readonly Counter<long> TransactionsAborted = SluiceInstruments.Meter.CreateCounter<long>(
        "sluice.kafka.sink.transactions_aborted", "{transaction}", "Kafka transactions aborted by exactly-once sink tasks (and retried)");

    public static readonly Counter<long> EpochsReproduced = SluiceInstruments.Meter.CreateCounter<long>(
        "sluice.kafka.sink.epochs_reproduced", "{epoch}", "Epochs produced from the checkpoint's write-ahead after a recovery (no commit marker found)");

    public static readonly Counter<long> EpochsAlreadyCommitted = SluiceInstruments.Meter.CreateCounter<long>(
        "sluice.kafka.sink.epochs_already_committed", "{epoch}", "Epochs skipped on commit because their marker was already committed");

    public static readonly Histogram<double> CommitLatency = SluiceInstruments.Meter.CreateHistogram<double>(
        "sluice.kafka.sink.commit_latency", "ms", "Time to produce one epoch and commit its Kafka transaction");

    public static readonly Counter<long> WriteAheadBytes = SluiceInstruments.Meter.CreateCounter<long>(
        "sluice.kafka.sink.write_ahead_bytes", "By", "Compressed bytes of epochs written ahead into checkpoints");
}
