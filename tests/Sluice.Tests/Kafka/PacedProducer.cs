using Confluent.Kafka;
using Sluice.Kafka.Embedded;
using Sluice.Tests.Properties;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Sluice.Tests.Kafka;

/// <summary>
/// Produces records with ids 0..count-1 to a topic in the background at a steady pace, so a fault can be
/// injected while records are still being written and read. Record <c>id</c> goes to partition
/// <c>id % partitions</c> as <see cref="Event"/>(<see cref="KeyOf"/>, <see cref="TimestampOf"/>, Value: id), so
/// each partition's event times increase. The producer is idempotent (<see cref="KafkaTestData.Producer"/>).
/// </summary>
internal sealed class PacedProducer : IDisposable
{
    /// <summary>Event time of record 0; record <c>id</c> is at <c>FirstTimestamp + id * TimeStep</c>.</summary>
    public const long FirstTimestamp = 1_000;

    public const long TimeStep = 5;

    public const int Keys = 7;

    private readonly IProducer<byte[]?, byte[]?> _producer;
    private readonly string _topic;
    private readonly int _partitions;
    private readonly int _count;
    private readonly int _perTick;
    private readonly TimeSpan _tick;
    private readonly Task _run;
    private long _handed;
    private long _failed;
    private string? _lastError;

    private PacedProducer(EmbeddedKafka kafka, string topic, int partitions, int count, int perTick, TimeSpan tick)
    {
        _producer = KafkaTestData.Producer(kafka);
        _topic = topic;
        _partitions = partitions;
        _count = count;
        _perTick = perTick;
        _tick = tick;
        _run = Task.Run(RunAsync);
    }

    /// <summary>Records handed to the producer so far (written or buffered by the client).</summary>
    public long Handed => Interlocked.Read(ref _handed);

    public static string KeyOf(long id) => $"k{id % Keys}";

    public static long TimestampOf(long id) => FirstTimestamp + (id * TimeStep);

    /// <summary>Starts producing <paramref name="count"/> records, <paramref name="perTick"/> of them every <paramref name="tick"/>.</summary>
    public static PacedProducer Start(EmbeddedKafka kafka, string topic, int partitions, int count, int perTick, TimeSpan tick) =>
        new(kafka, topic, partitions, count, perTick, tick);

    /// <summary>The records <see cref="Start"/> writes, in the order the oracle needs them.</summary>
    public static IEnumerable<Event> Events(int count) =>
        Enumerable.Range(0, count).Select(id => new Event(KeyOf(id), TimestampOf(id), id));

    /// <summary>Completes when at least <paramref name="records"/> records were handed to the producer.</summary>
    public async Task ReachedAsync(long records)
    {
        while (Handed < records)
        {
            if (_run.IsCompleted)
            {
                await _run; // surfaces the producer's exception
                return;
            }

            await Task.Delay(10);
        }
    }

    /// <summary>
    /// Waits for the paced run to end, then writes one record per partition with <paramref name="endTimestamp"/>
    /// (negative ids, key "end"; they push the watermark past every real window) and flushes. Fails when a record
    /// was not delivered: the test is only meaningful when every produced id is really in the topic.
    /// </summary>
    public async Task FinishAsync(long endTimestamp, TimeSpan timeout)
    {
        await _run;
        for (var p = 0; p < _partitions; p++)
        {
            Send(p, new Event("end", endTimestamp, -1 - p));
        }

        var deadline = DateTime.UtcNow + timeout;
        while (_producer.Flush(TimeSpan.FromMilliseconds(500)) > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the producer still had undelivered records after {timeout}");
            }
        }

        Assert.True(Interlocked.Read(ref _failed) == 0, $"{_failed} record(s) were not delivered to '{_topic}'; last error: {_lastError}");
    }

    public void Dispose()
    {
        try
        {
            _run.Wait(TimeSpan.FromSeconds(30));
        }
        catch (AggregateException)
        {
            // Already reported by ReachedAsync or FinishAsync; a test that failed earlier must not fail here instead.
        }

        _producer.Dispose();
    }

    private async Task RunAsync()
    {
        for (var id = 0; id < _count;)
        {
            for (var i = 0; i < _perTick && id < _count; i++, id++)
            {
                Send(id % _partitions, new Event(KeyOf(id), TimestampOf(id), id));
                Interlocked.Increment(ref _handed);
            }

            await Task.Delay(_tick);
        }
    }

    private void Send(int partition, Event e)
    {
        var message = new Message<byte[]?, byte[]?> { Value = KafkaTestData.Json(e) };
        while (true)
        {
            try
            {
                _producer.Produce(new TopicPartition(_topic, partition), message, OnDelivery);
                return;
            }
            catch (ProduceException<byte[]?, byte[]?> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                _producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    private void OnDelivery(DeliveryReport<byte[]?, byte[]?> report)
    {
        if (report.Error.IsError)
        {
            Interlocked.Increment(ref _failed);
            _lastError = $"{report.TopicPartition}: {report.Error.Code} {report.Error.Reason}";
        }
    }
}
