using Orleans.Providers.Streams.Common;
using Orleans.Streams;
using Sluice.Exchange;

namespace Sluice.Sources;

/// <summary>One channel message from a source partition to one key-group stream, as Orleans streams carry it.</summary>
[GenerateSerializer, Immutable]
internal sealed class SourceBatchContainer(StreamId streamId, EventSequenceTokenV2 token, ChannelBatch batch) : IBatchContainer
{
    [Id(0)]
    public StreamId StreamId { get; } = streamId;

    [Id(1)]
    public EventSequenceTokenV2 Token { get; } = token;

    [Id(2)]
    public ChannelBatch Batch { get; } = batch;

    public StreamSequenceToken SequenceToken => Token;

    /// <summary>The partition that produced this container, on the receiving silo only (not serialised).</summary>
    [field: NonSerialized]
    internal ISourcePartitionTask? Origin { get; init; }

    /// <summary>
    /// The reader position at the start of the read that produced this container (not serialised): once the
    /// container is delivered, everything before this position is too.
    /// </summary>
    [field: NonSerialized]
    internal long ReadStartPosition { get; init; } = -1;

    /// <summary>Order of emission within its partition (not serialised), for tracking what was delivered.</summary>
    [field: NonSerialized]
    internal long EmitIndex { get; init; }

    public IEnumerable<Tuple<T, StreamSequenceToken>> GetEvents<T>() =>
        Batch is T item ? [Tuple.Create(item, (StreamSequenceToken)Token)] : [];

    public bool ImportRequestContext() => false;

    public override string ToString() => $"{StreamId} {Batch}";
}
