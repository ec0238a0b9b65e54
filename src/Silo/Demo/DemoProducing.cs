using Confluent.Kafka;

namespace Sluice.Silo.Demo;

/// <summary>How the demo data producers write one message to the embedded (or a configured) Kafka.</summary>
internal static class DemoProducing
{
    /// <summary>
    /// Produces <paramref name="message"/>; when the producer refuses it (its local queue is full while the broker is
    /// slow or down) the message is dropped, as demo data may be, the failure logged once per thousand, and the producer
    /// given 100 ms to drain.
    /// </summary>
    public static void Produce(
        IProducer<string, byte[]> producer, TopicPartition partition, Message<string, byte[]> message, ref long failures, ILogger logger, string what)
    {
        try
        {
            producer.Produce(partition, message);
        }
        catch (ProduceException<string, byte[]> ex)
        {
            if (failures++ % 1000 == 0)
            {
                logger.LogWarning("Producing {What} failed ({Failures} so far): {Reason}", what, failures, ex.Error.Reason);
            }

            producer.Poll(TimeSpan.FromMilliseconds(100));
        }
    }
}
