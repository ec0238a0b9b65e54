using Orleans.Providers.Streams.Common;
using Orleans.Streams;

namespace Sluice.Kafka;

/// <summary>One Kafka record on its stream (namespace = topic, key = record key).</summary>
[GenerateSerializer, Immutable]
internal sealed class KafkaBatchContainer(StreamId streamId, EventSequenceTokenV2 token, KafkaMessage message) : IBatchContainer
{
    [Id(0)]
    public StreamId StreamId { get; } = streamId;

    [Id(1)]
    public EventSequenceTokenV2 Token { get; } = token;

    [Id(2)]
    public KafkaMessage Message { get; } = message;

    public StreamSequenceToken SequenceToken => Token;

    public IEnumerable<Tuple<T, StreamSequenceToken>> GetEvents<T>() =>
        Message is T item ? [Tuple.Create(item, (StreamSequenceToken)Token)] : [];

    public bool ImportRequestContext() => false;
}
