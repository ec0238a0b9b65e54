namespace Sluice.Kafka;

/// <summary>A Kafka record as the stream provider delivers it to grains.</summary>
[GenerateSerializer, Immutable]
public sealed record KafkaMessage(
    [property: Id(0)] string Topic,
    [property: Id(1)] int Partition,
    [property: Id(2)] long Offset,
    [property: Id(3)] byte[]? Key,
    [property: Id(4)] byte[]? Value,
    [property: Id(5)] long TimestampMilliseconds);
