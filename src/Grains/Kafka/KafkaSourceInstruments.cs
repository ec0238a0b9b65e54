using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Sluice.Diagnostics;

namespace Sluice.Kafka;

/// <summary>
/// Instruments of the Kafka source, on Sluice's meter: consumer lag per partition as an observable gauge (read when a
/// metrics exporter collects, never per record) and the offsets committed to consumer groups for monitoring.
/// </summary>
internal static class KafkaSourceInstruments
{
    public const string LagName = "sluice.kafka.consumer.lag";

    private static readonly ConcurrentDictionary<KafkaPartitionConsumer, byte> Consumers = new();

    public static readonly ObservableGauge<long> Lag = SluiceInstruments.Meter.CreateObservableGauge(
        LagName, ObserveLag, "{record}", "Records in a partition not yet handed to the pipeline (high watermark minus position), per topic, partition and consumer group");

    public static readonly Counter<long> OffsetCommits = SluiceInstruments.Meter.CreateCounter<long>(
        "sluice.kafka.consumer.offset_commits", "{commit}", "Checkpointed offsets committed to consumer groups (for lag tools; never read back)");

    public static readonly Counter<long> OffsetCommitFailures = SluiceInstruments.Meter.CreateCounter<long>(
        "sluice.kafka.consumer.offset_commit_failures", "{commit}", "Offset commits to consumer groups that failed (the next completed checkpoint commits again)");

    public static void Track(KafkaPartitionConsumer consumer) => Consumers.TryAdd(consumer, 0);

    public static void Untrack(KafkaPartitionConsumer consumer) => Consumers.TryRemove(consumer, out _);

    private static IEnumerable<Measurement<long>> ObserveLag()
    {
        foreach (var consumer in Consumers.Keys)
        {
            if (consumer.HighWatermark < 0)
            {
                continue; // not connected yet: no lag to tell
            }

            yield return new Measurement<long>(
                consumer.Lag,
                new KeyValuePair<string, object?>("topic", consumer.Partition.Topic),
                new KeyValuePair<string, object?>("partition", consumer.Partition.Partition.Value),
                new KeyValuePair<string, object?>("consumer_group", consumer.GroupId));
        }
    }
}
