using Confluent.Kafka;

namespace Sluice.Kafka;

/// <summary>Kafka in the pipeline builder: <c>FromKafka</c> and <c>ToKafka</c>.</summary>
public static class KafkaPipelineExtensions
{
    /// <summary>Reads a topic; the topic must exist (its partition count is read when the pipeline is defined).</summary>
    public static DataStream<T> FromKafka<T>(this Pipeline pipeline, string topic, IDeserializer<T> format, Action<KafkaSourceOptions> configure)
    {
        var options = new KafkaSourceOptions { Topic = topic };
        configure(options);
        return pipeline.From(new KafkaSource<T>($"kafka:{topic}", options, format));
    }

    /// <summary>Writes the stream to a topic at least once.</summary>
    public static Pipeline ToKafka<T>(this DataStream<T> stream, string topic, ISerializer<T> serializer, Func<T, string?>? keySelector, Action<KafkaSinkOptions> configure)
    {
        var options = new KafkaSinkOptions { Topic = topic };
        configure(options);
        return stream.SinkTo(new KafkaSink<T>($"kafka:{topic}", options, serializer, keySelector));
    }
}
