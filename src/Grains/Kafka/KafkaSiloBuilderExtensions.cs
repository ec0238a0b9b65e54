using Microsoft.Extensions.DependencyInjection;
using Orleans.Streams;

namespace Sluice.Kafka;

/// <summary>Registers Kafka as an Orleans persistent stream provider.</summary>
public static class KafkaSiloBuilderExtensions
{
    /// <summary>
    /// Adds a read-only stream provider named <paramref name="name"/> over Kafka topics. Grains subscribe to
    /// <c>StreamId.Create(topic, recordKey)</c> (implicitly or explicitly) and receive <see cref="KafkaMessage"/>s.
    /// Topics must exist; their partitions are discovered when the silo starts.
    /// </summary>
    /// <param name="configureStream">Further stream settings, e.g. <c>ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly)</c>
    /// (the default pub-sub also needs a grain storage named "PubSubStore").</param>
    public static ISiloBuilder AddKafkaStreams(
        this ISiloBuilder builder, string name, Action<KafkaStreamOptions> configure, Action<ISiloPersistentStreamConfigurator>? configureStream = null)
    {
        builder.Services.AddOptions<KafkaStreamOptions>(name).Configure(configure);
        builder.AddPersistentStreams(name, KafkaQueueAdapterFactory.Create, stream =>
        {
            stream.ConfigurePullingAgent(agent => agent.Configure(o => o.GetQueueMsgsTimerPeriod = TimeSpan.FromMilliseconds(20)));
            configureStream?.Invoke(stream);
        });
        return builder;
    }
}
