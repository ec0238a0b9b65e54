using System.Collections.Concurrent;
using System.Text;
using Confluent.Kafka;
using Orleans.Streams;
using Orleans.Streams.Core;
using Sluice.Kafka;
using Sluice.Kafka.Embedded;
using Sluice.Tests.Infrastructure;

namespace Sluice.Tests.Kafka;

/// <summary>The Kafka stream provider as a plain Orleans app uses it: grains subscribed to a topic's streams.</summary>
public sealed class KafkaStreamProviderTests
{
    internal const string Topic = "orleans-clicks";

    [Fact]
    public async Task Grains_subscribed_to_a_topic_receive_every_record_of_their_key_in_offset_order()
    {
        using var kafka = EmbeddedKafka.Start(brokers: 3);
        kafka.CreateTopic(Topic, 4);
        ClickCounterGrain.Received.Clear();
        await using var cluster = await SluiceCluster.StartAsync(2, silo => silo.AddKafkaStreams(
            "kafka",
            o =>
            {
                o.BootstrapServers = kafka.BootstrapServers;
                o.Topics.Add(Topic);
            },
            stream => stream.ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly)));

        const int keys = 10;
        const int perKey = 50;
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, EnableIdempotence = true }).Build())
        {
            for (var i = 0; i < keys * perKey; i++)
            {
                producer.Produce(Topic, new Message<string, string> { Key = $"user-{i % keys}", Value = i.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (ClickCounterGrain.Received.Values.Sum(q => q.Count) < keys * perKey && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        Assert.Equal(keys, ClickCounterGrain.Received.Count);
        foreach (var (key, values) in ClickCounterGrain.Received)
        {
            var expected = Enumerable.Range(0, keys * perKey).Where(i => $"user-{i % keys}" == key).ToList();
            Assert.Equal(expected, values.Select(v => int.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToList());
        }
    }

    [Fact]
    public async Task A_provider_without_topics_stops_the_silo_with_a_clear_error()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var cluster = await SluiceCluster.StartAsync(
                1, silo => silo.AddKafkaStreams("kafka", o => o.BootstrapServers = "127.0.0.1:1", stream => stream.ConfigureStreamPubSub(StreamPubSubType.ImplicitOnly)));
        });
        Assert.Contains("Topics is empty", Flatten(error), StringComparison.Ordinal);
    }

    private static string Flatten(Exception e) => e.InnerException is null ? e.Message : $"{e.Message} <- {Flatten(e.InnerException)}";
}

public interface IClickCounterGrain : IGrainWithStringKey;

/// <summary>One grain per record key, implicitly subscribed to the topic's stream of that key.</summary>
[ImplicitStreamSubscription(KafkaStreamProviderTests.Topic)]
public sealed class ClickCounterGrain : Grain, IClickCounterGrain, IStreamSubscriptionObserver, IAsyncObserver<KafkaMessage>
{
    public static readonly ConcurrentDictionary<string, ConcurrentQueue<string>> Received = new();

    public Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) => handleFactory.Create<KafkaMessage>().ResumeAsync(this);

    public Task OnNextAsync(KafkaMessage item, StreamSequenceToken? token = null)
    {
        Received.GetOrAdd(this.GetPrimaryKeyString(), _ => new()).Enqueue(Encoding.UTF8.GetString(item.Value!));
        return Task.CompletedTask;
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;
}
