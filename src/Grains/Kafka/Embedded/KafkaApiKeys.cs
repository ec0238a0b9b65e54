namespace Sluice.Kafka.Embedded;

/// <summary>
/// Kafka protocol ApiKey numbers, for <see cref="EmbeddedKafka.PushRequestErrors"/> (fault injection per request type).
/// </summary>
internal static class KafkaApiKeys
{
    public const short Produce = 0;
    public const short Fetch = 1;
    public const short ListOffsets = 2;
    public const short Metadata = 3;
    public const short OffsetCommit = 8;
    public const short OffsetFetch = 9;
    public const short FindCoordinator = 10;
    public const short JoinGroup = 11;
    public const short Heartbeat = 12;
    public const short InitProducerId = 22;
    public const short AddPartitionsToTxn = 24;
    public const short EndTxn = 26;
}
