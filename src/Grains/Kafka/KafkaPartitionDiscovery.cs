using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Sluice.Kafka;

/// <summary>
/// Watches a source topic's partition count (a metadata refresh every <see cref="KafkaSourceOptions.PartitionDiscoveryInterval"/>,
/// off the readers' thread). The source has a fixed number of partition slots (the plan's channels); a slot whose Kafka
/// partition does not exist yet waits idle at position 0, and is read from the beginning once the topic grows to it.
/// Partitions beyond the slots are reported, never silently ignored.
/// </summary>
internal sealed class KafkaPartitionDiscovery(KafkaSourceOptions options, int initialPartitions, int slots, Func<ILogger> logger)
{
    private readonly long _intervalMs = (long)options.PartitionDiscoveryInterval.TotalMilliseconds;
    private long _nextRefreshAt = Environment.TickCount64 + (long)options.PartitionDiscoveryInterval.TotalMilliseconds;
    private int _refreshing;
    private int _known = initialPartitions;
    private int _reportedUnread = initialPartitions > slots ? initialPartitions : slots;

    /// <summary>Partitions the topic had when the source was defined: these start at the configured start position.</summary>
    public int InitialPartitions { get; } = initialPartitions;

    /// <summary>Partitions known to exist now (never decreases: Kafka cannot remove partitions).</summary>
    public int Known => Volatile.Read(ref _known);

    /// <summary>Why some partitions are not read (the topic outgrew the slots), or null.</summary>
    public string? Unread { get; private set; }

    /// <summary>Starts a metadata refresh when one is due and none is running; returns at once.</summary>
    public void RefreshIfDue()
    {
        var now = Environment.TickCount64;
        if (now < Volatile.Read(ref _nextRefreshAt) || Interlocked.CompareExchange(ref _refreshing, 1, 0) != 0)
        {
            return;
        }

        Volatile.Write(ref _nextRefreshAt, now + _intervalMs);
        _ = Task.Run(Refresh); // not awaited: a metadata request blocks and the reader must not; it holds no state of a checkpoint, and a lost or failed refresh is repeated after the next interval
    }

    private void Refresh()
    {
        try
        {
            using var admin = new AdminClientBuilder(KafkaClients.Admin(options.ClientConfig, options.BootstrapServers, "source", options.Topic)).Build();
            var topic = admin.GetMetadata(options.Topic, options.MetadataTimeout).Topics.Find(t => t.Topic == options.Topic);
            if (topic is null || topic.Error.IsError)
            {
                return;
            }

            Observe(topic.Partitions.Count);
        }
        catch (KafkaException ex)
        {
            logger().LogWarning("Refreshing the partitions of topic {Topic} failed: {Reason}; trying again in {Interval}", options.Topic, ex.Error.Reason, options.PartitionDiscoveryInterval);
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }

    /// <summary>The topic has <paramref name="count"/> partitions now.</summary>
    internal void Observe(int count)
    {
        var known = Known;
        if (count > known)
        {
            Volatile.Write(ref _known, count);
            logger().LogInformation(
                "Topic {Topic} grew from {Before} to {After} partitions; the new ones within the source's {Slots} slots are read from the beginning",
                options.Topic, known, count, slots);
        }

        if (count > _reportedUnread)
        {
            _reportedUnread = count;
            Unread = $"topic '{options.Topic}' has {count} partitions but the source reads {slots} ({nameof(KafkaSourceOptions.MaxPartitions)}); "
                + $"partitions {slots}..{count - 1} are not read: raise {nameof(KafkaSourceOptions.MaxPartitions)} and restart from a savepoint";
            logger().LogWarning("Kafka source: {Unread}", Unread);
        }
    }
}
