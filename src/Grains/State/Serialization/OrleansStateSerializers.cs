using System.Buffers;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace Sluice.State.Serialization;

/// <summary>
/// State serializers backed by Orleans' codecs from <paramref name="services"/>. Without services (operators built by
/// unit tests that never snapshot) a serializer is still handed out and fails only when it is used.
/// </summary>
internal sealed class OrleansStateSerializers(IServiceProvider? services) : IStateSerializerProvider
{
    public IStateSerializer<T> Get<T>() => new OrleansStateSerializer<T>(services?.GetService<Serializer<T>>());

    private sealed class OrleansStateSerializer<T>(Serializer<T>? serializer) : IStateSerializer<T>
    {
        private Serializer<T> Codec => serializer
            ?? throw new InvalidOperationException($"No Orleans serializer for {typeof(T)} is registered: state cannot be written to or read from a snapshot.");

        public void Serialize(T value, IBufferWriter<byte> output) => Codec.Serialize(value, output);

        public T Deserialize(ReadOnlySpan<byte> bytes) => Codec.Deserialize(bytes)!;
    }
}
