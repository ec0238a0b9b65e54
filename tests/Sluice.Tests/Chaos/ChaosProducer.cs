using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Sluice.Tests.Chaos;

/// <summary>An input event of the windowed-counts job as the test writes it: <c>{"id":..,"key":..,"ts":..}</c>.</summary>
internal sealed record ChaosEvent(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("ts")] long Ts);

/// <summary>One output line of the job: <c>{"key":..,"windowStart":..,"windowEnd":..,"count":..}</c>.</summary>
internal sealed record ChaosWindowCount(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("windowStart")] long WindowStart,
    [property: JsonPropertyName("windowEnd")] long WindowEnd,
    [property: JsonPropertyName("count")] long Count);

/// <summary>The test's own JSON shapes, written independently of the job's code so a renamed field shows up as a failure.</summary>
[JsonSerializable(typeof(ChaosEvent))]
[JsonSerializable(typeof(ChaosWindowCount))]
internal sealed partial class ChaosJson : JsonSerializerContext;

/// <summary>
/// Writes events at a steady rate for a fixed time: unique ids, keys drawn at random from <c>keys</c> values,
/// partitions round robin, event time = wall-clock time since the start minus a random delay of at most
/// <c>maxDisorder</c> (so time mostly increases, with bounded disorder). Only records the broker acknowledged count
/// as produced; the producer is idempotent, so a retry never writes a record twice.
/// </summary>
internal sealed class ChaosProducer : IDisposable
{
    /// <summary>Key of the end markers, one per partition with a far-future time: they close every real window.</summary>
    public const string EndKey = "__end__";

    private readonly IProducer<byte[]?, byte[]?> _producer;
    private readonly string _topic;
    private readonly int _partitions;
    private readonly int _keys;
    private readonly double _recordsPerSecond;
    private readonly long _maxDisorderMs;
    private readonly Random _random;
    private readonly List<ChaosEvent> _sent = [];
    private readonly ConcurrentDictionary<long, bool> _acknowledged = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _run = Task.CompletedTask;
    private long _failed;
    private string? _lastError;

    public ChaosProducer(string bootstrapServers, string topic, int partitions, int keys, double recordsPerSecond, TimeSpan maxDisorder, int seed)
    {
        _producer = new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            // Keeps the mock cluster's per-partition log (~5 MiB kept) far from its limit.
            CompressionType = CompressionType.Lz4,
        }).Build();
        _topic = topic;
        _partitions = partitions;
        _keys = keys;
        _recordsPerSecond = recordsPerSecond;
        _maxDisorderMs = (long)maxDisorder.TotalMilliseconds;
        _random = new Random(seed);
    }

    /// <summary>Epoch milliseconds at which event time starts (the wall clock when <see cref="Start"/> ran).</summary>
    public long EpochStart { get; private set; }

    /// <summary>Largest event time written so far.</summary>
    public long MaxTimestamp { get; private set; } = long.MinValue;

    public long Failed => Interlocked.Read(ref _failed);

    public string? LastError => _lastError;

    public void Start(TimeSpan duration)
    {
        EpochStart = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        _run = Task.Run(() => RunAsync(duration, _stop.Token));
    }

    /// <summary>Waits for the paced run, writes one end marker per partition and waits until everything is acknowledged.</summary>
    public async Task FinishAsync(TimeSpan timeout)
    {
        await _run;
        var end = MaxTimestamp + (long)TimeSpan.FromHours(1).TotalMilliseconds;
        for (var p = 0; p < _partitions; p++)
        {
            Send(p, new ChaosEvent(-1 - p, EndKey, end), track: false);
        }

        var deadline = Stopwatch.StartNew();
        while (_producer.Flush(TimeSpan.FromMilliseconds(500)) > 0)
        {
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"the producer still had unacknowledged records after {timeout}");
            }
        }
    }

    /// <summary>The records the broker acknowledged (what the oracle counts).</summary>
    public IReadOnlyList<ChaosEvent> Acknowledged()
    {
        lock (_sent)
        {
            return _sent.Where(e => _acknowledged.TryGetValue(e.Id, out var ok) && ok).ToList();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _run.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
            // The test reports the producer's failure where it awaits FinishAsync.
        }

        _producer.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync(TimeSpan duration, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        long id = 0;
        while (clock.Elapsed < duration && !cancel.IsCancellationRequested)
        {
            // Catch up to the target count for the elapsed time: a steady rate even when a tick runs late.
            var due = (long)(clock.Elapsed.TotalSeconds * _recordsPerSecond);
            for (; id < due; id++)
            {
                var ts = EpochStart + clock.ElapsedMilliseconds - _random.NextInt64(0, _maxDisorderMs + 1);
                MaxTimestamp = Math.Max(MaxTimestamp, ts);
                Send((int)(id % _partitions), new ChaosEvent(id, $"k-{_random.Next(_keys)}", ts), track: true);
            }

            _producer.Poll(TimeSpan.Zero);
            await Task.Delay(10, CancellationToken.None);
        }
    }

    private void Send(int partition, ChaosEvent e, bool track)
    {
        if (track)
        {
            lock (_sent)
            {
                _sent.Add(e);
            }
        }

        var message = new Message<byte[]?, byte[]?> { Value = JsonSerializer.SerializeToUtf8Bytes(e, ChaosJson.Default.ChaosEvent) };
        while (true)
        {
            try
            {
                _producer.Produce(new TopicPartition(_topic, partition), message, report => OnDelivery(e.Id, report));
                return;
            }
            catch (ProduceException<byte[]?, byte[]?> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                _producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    private void OnDelivery(long id, DeliveryReport<byte[]?, byte[]?> report)
    {
        if (report.Error.IsError)
        {
            Interlocked.Increment(ref _failed);
            _lastError = $"{report.TopicPartition}: {report.Error.Code} {report.Error.Reason}";
            _acknowledged[id] = false;
        }
        else
        {
            _acknowledged[id] = true;
        }
    }
}
