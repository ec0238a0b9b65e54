using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Confluent.Kafka;
using Sluice.Kafka.Embedded;
using Xunit.Abstractions;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Sluice.Tests.Kafka.Embedded;

public sealed class EmbeddedKafkaTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Fact]
    public void Library_resolves_to_one_loadable_file_shared_with_confluent()
    {
        var path = EmbeddedKafka.EnsureLibraryLoaded();
        output.WriteLine($"librdkafka: {path}");
        output.WriteLine($"skipped before it: {LibrdkafkaLibrary.Skipped}");

        Assert.True(File.Exists(path), path);
        Assert.Equal(path, EmbeddedKafka.EnsureLibraryLoaded());
        Assert.True(Library.IsLoaded);
        Assert.StartsWith("2.", Library.VersionString, StringComparison.Ordinal);

        if (OperatingSystem.IsLinux())
        {
            // The mock cluster and Confluent's clients must run on the same file: only one librdkafka is mapped.
            using var kafka = EmbeddedKafka.Start(brokers: 1);
            Assert.Equal(path, kafka.LibraryPath);
            using var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).SetLogHandler(Log).Build();
            var mapped = File.ReadLines("/proc/self/maps")
                .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(fields => fields.Length >= 6 && fields[5].Contains("rdkafka", StringComparison.Ordinal))
                .Select(fields => fields[5])
                .Distinct(StringComparer.Ordinal)
                .ToList();
            Assert.Equal([path], mapped);
        }
    }

    [Fact]
    public void A_file_that_does_not_load_is_reported_with_its_path_and_the_loader_reason()
    {
        var folder = Directory.CreateTempSubdirectory("sluice-librdkafka-").FullName;
        try
        {
            var notElf = Path.Combine(folder, "librdkafka.so");
            File.WriteAllText(notElf, new string('x', 4096)); // long enough for glibc to read a header
            var missing = Path.Combine(folder, "centos8-librdkafka.so");

            var e = Assert.Throws<DllNotFoundException>(() => LibrdkafkaLibrary.LoadFirst([notElf, missing], out _, out _));
            output.WriteLine(e.Message);
            Assert.Contains(notElf + ":", e.Message, StringComparison.Ordinal);
            Assert.Contains(missing + ":", e.Message, StringComparison.Ordinal);
            if (OperatingSystem.IsLinux())
            {
                Assert.Contains("invalid ELF header", e.Message, StringComparison.Ordinal); // dlerror's text
            }

            // A file that loads after one that does not: the reason for skipping the first is kept.
            var handle = LibrdkafkaLibrary.LoadFirst([notElf, EmbeddedKafka.EnsureLibraryLoaded()], out var loaded, out var skipped);
            Assert.NotEqual(0, handle);
            Assert.Equal(EmbeddedKafka.EnsureLibraryLoaded(), loaded);
            Assert.StartsWith(notElf + ":", skipped, StringComparison.Ordinal);
            NativeLibrary.Free(handle); // drops this extra reference only; the process keeps its own
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Thousand_messages_round_trip_over_tcp_through_three_brokers()
    {
        using var kafka = EmbeddedKafka.Start(brokers: 3);
        output.WriteLine($"bootstrap {kafka.BootstrapServers}, librdkafka {kafka.LibraryVersion} at {kafka.LibraryPath}");
        const string topic = "round-trip";
        const int partitions = 4;
        kafka.CreateTopic(topic, partitions, replicationFactor: 3);

        var expected = Enumerable.Range(0, partitions).Select(_ => new List<string>()).ToArray();
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, Acks = Acks.All, LingerMs = 5 })
                   .SetLogHandler(Log).Build())
        {
            var sends = new List<Task<DeliveryResult<string, string>>>();
            for (var i = 0; i < 1_000; i++)
            {
                var partition = i % partitions;
                var value = $"value-{i}";
                expected[partition].Add(value);
                sends.Add(producer.ProduceAsync(new TopicPartition(topic, partition), new Message<string, string> { Key = $"key-{i}", Value = value }));
            }

            var results = await Task.WhenAll(sends);
            Assert.All(results, r => Assert.Equal(PersistenceStatus.Persisted, r.Status));
            Assert.All(results, r => Assert.Equal($"key-{r.Message.Value["value-".Length..]}", r.Message.Key));
        }

        var consumed = ConsumeAll(kafka.BootstrapServers, topic, partitions);
        for (var p = 0; p < partitions; p++)
        {
            Assert.Equal(250, consumed[p].Count);
            Assert.Equal(Enumerable.Range(0, 250).Select(o => (long)o), consumed[p].Select(m => m.Offset.Value));
            Assert.Equal(expected[p], consumed[p].Select(m => m.Message.Value));
            Assert.All(consumed[p], m => Assert.Equal($"key-{m.Message.Value["value-".Length..]}", m.Message.Key));
        }
    }

    [Fact]
    public void Idempotent_producer_delivers_exactly_once_through_broker_outage_and_leader_moves()
    {
        using var kafka = EmbeddedKafka.Start(brokers: 3);
        const string topic = "faults";
        const int partitions = 4;
        kafka.CreateTopic(topic, partitions, replicationFactor: 3);
        for (var p = 0; p < partitions; p++)
        {
            kafka.SetPartitionLeader(topic, p, 1);
        }

        var fatal = new ConcurrentQueue<Error>();
        var transient = new ConcurrentQueue<Error>();
        using var producer = new ProducerBuilder<string, string>(IdempotentConfig(kafka.BootstrapServers))
            .SetLogHandler(Log)
            .SetErrorHandler((_, e) => (e.IsFatal ? fatal : transient).Enqueue(e))
            .Build();
        var sender = new Sender(producer, topic, partitions);

        // Phase 1: healthy cluster.
        sender.Send(300);
        Flush(producer);

        // Phase 2: the leader of every partition goes down for ~2 s while messages are in flight.
        sender.Send(100);
        kafka.SetBrokerDown(1);
        sender.Send(100);
        Thread.Sleep(TimeSpan.FromSeconds(2));
        kafka.SetBrokerUp(1);
        Flush(producer);

        // Phase 3: leadership moves while messages are in flight.
        sender.Send(100);
        for (var p = 0; p < partitions; p++)
        {
            kafka.SetPartitionLeader(topic, p, 2);
        }

        sender.Send(100);
        Flush(producer);

        // Phase 4: a failover: the leader goes down, leadership moves away a moment later, then it comes back.
        sender.Send(100);
        kafka.SetBrokerDown(2);
        sender.Send(100);
        Thread.Sleep(TimeSpan.FromSeconds(1));
        for (var p = 0; p < partitions; p++)
        {
            kafka.SetPartitionLeader(topic, p, p % 2 == 0 ? 3 : 1);
        }

        sender.Send(100);
        Flush(producer);
        kafka.SetBrokerUp(2);

        Assert.Empty(fatal);
        // librdkafka does not always surface a refused connection through the error handler (it may reconnect
        // first), so the transport errors are reported, not asserted; delivery is what this test pins.
        output.WriteLine($"transient errors seen by the producer: {string.Join(", ", transient.Select(e => e.Code))}");
        AssertExactlyOnce(kafka, topic, partitions, sender, expectedTotal: 1_000);
    }

    [Fact]
    public void Injected_transient_produce_errors_are_retried_by_the_idempotent_producer()
    {
        using var kafka = EmbeddedKafka.Start(brokers: 3);
        const string topic = "injected";
        const int partitions = 2;
        kafka.CreateTopic(topic, partitions, replicationFactor: 3);

        // Control: a producer that does not retry sees the injected error, so the injection takes effect.
        using (var noRetries = new ProducerBuilder<string, string>(NoRetryConfig(kafka.BootstrapServers)).SetLogHandler(Log).Build())
        {
            Assert.Equal(ErrorCode.NoError, ProduceOne(noRetries, topic, "warm-up"));
            kafka.PushRequestErrors(KafkaApiKeys.Produce, ErrorCode.RequestTimedOut);
            Assert.Equal(ErrorCode.RequestTimedOut, ProduceOne(noRetries, topic, "rejected"));
        }

        var fatal = new ConcurrentQueue<Error>();
        using (var producer = new ProducerBuilder<string, string>(IdempotentConfig(kafka.BootstrapServers))
                   .SetLogHandler(Log)
                   .SetErrorHandler((_, e) =>
                   {
                       if (e.IsFatal)
                       {
                           fatal.Enqueue(e);
                       }
                   })
                   .Build())
        {
            var sender = new Sender(producer, topic, partitions, skipOffsets: 1);
            // Connect and get a producer id first, so that the errors below hit Produce requests carrying data.
            sender.Send(10);
            Flush(producer);

            kafka.PushRequestErrors(KafkaApiKeys.Produce,
                ErrorCode.NotLeaderForPartition, ErrorCode.NotLeaderForPartition, ErrorCode.NotLeaderForPartition, ErrorCode.RequestTimedOut);
            sender.Send(190);
            Flush(producer);

            Assert.Empty(fatal);
            AssertDelivered(sender, expectedTotal: 200);
        }

        // The idempotent producer used up every injected error: a producer without retries now succeeds.
        using (var noRetries = new ProducerBuilder<string, string>(NoRetryConfig(kafka.BootstrapServers)).SetLogHandler(Log).Build())
        {
            Assert.Equal(ErrorCode.NoError, ProduceOne(noRetries, topic, "after"));
        }

        // Every partition holds warm-up/after (partition 0) plus each idempotent message exactly once.
        var consumed = ConsumeAll(kafka.BootstrapServers, topic, partitions);
        var values = consumed.SelectMany(p => p).Select(m => m.Message.Value).ToList();
        Assert.Equal(values.Count, values.Distinct(StringComparer.Ordinal).Count());
        var expected = Enumerable.Range(0, 200).Select(i => $"value-{i}").Append("warm-up").Append("after").Order(StringComparer.Ordinal);
        Assert.Equal(expected, values.Order(StringComparer.Ordinal));
        Assert.All(consumed, p => Assert.Equal(Enumerable.Range(0, p.Count).Select(o => (long)o), p.Select(m => m.Offset.Value)));
    }

    [Fact]
    public void Dispose_releases_the_cluster_and_a_second_cluster_starts_after_it()
    {
        var previous = new List<string>();
        for (var round = 0; round < 2; round++)
        {
            var kafka = EmbeddedKafka.Start(brokers: 3);
            previous.AddRange(kafka.BootstrapServers.Split(','));
            var topic = $"round-{round}";
            kafka.CreateTopic(topic, partitions: 1);
            using (var producer = new ProducerBuilder<string, string>(NoRetryConfig(kafka.BootstrapServers)).SetLogHandler(Log).Build())
            {
                Assert.Equal(ErrorCode.NoError, ProduceOne(producer, topic, $"hello-{round}"));
            }

            var consumed = ConsumeAll(kafka.BootstrapServers, topic, partitions: 1);
            Assert.Equal([$"hello-{round}"], consumed[0].Select(m => m.Message.Value));

            kafka.Dispose();
            kafka.Dispose(); // idempotent
            Assert.Throws<ObjectDisposedException>(() => kafka.CreateTopic("late", 1));
            Assert.Throws<ObjectDisposedException>(() => kafka.SetBrokerDown(1));
            Assert.Throws<ObjectDisposedException>(() => kafka.PushRequestErrors(KafkaApiKeys.Produce, ErrorCode.RequestTimedOut));

            // The listeners are closed.
            foreach (var address in kafka.BootstrapServers.Split(','))
            {
                var colon = address.LastIndexOf(':');
                using var client = new TcpClient();
                Assert.ThrowsAny<SocketException>(() => client.Connect(address[..colon], int.Parse(address[(colon + 1)..])));
            }
        }

        Assert.Equal(6, previous.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Invalid_calls_fail_with_clear_messages()
    {
        using var kafka = EmbeddedKafka.Start(brokers: 2);
        Assert.Equal(2, kafka.BrokerCount);
        Assert.Throws<ArgumentOutOfRangeException>(() => kafka.SetBrokerDown(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => kafka.CreateTopic("t", 1, replicationFactor: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddedKafka.Start(brokers: 0));

        kafka.SetBrokerDown(EmbeddedKafka.AllBrokers);
        kafka.SetBrokerUp(EmbeddedKafka.AllBrokers);

        kafka.CreateTopic("t", 2);
        var duplicate = Assert.Throws<InvalidOperationException>(() => kafka.CreateTopic("t", 2));
        output.WriteLine(duplicate.Message);
        Assert.Contains("rd_kafka_mock_topic_create(topic: 't'", duplicate.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(ErrorCode.TopicAlreadyExists), duplicate.Message, StringComparison.Ordinal);

        var noPartition = Assert.Throws<InvalidOperationException>(() => kafka.SetPartitionLeader("t", 5, 1));
        output.WriteLine(noPartition.Message);
        Assert.Contains("partition: 5", noPartition.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(ErrorCode.UnknownTopicOrPart), noPartition.Message, StringComparison.Ordinal);
    }

    private static ProducerConfig IdempotentConfig(string bootstrapServers) => new()
    {
        BootstrapServers = bootstrapServers,
        EnableIdempotence = true,
        Acks = Acks.All,
        MessageTimeoutMs = 60_000,
        LingerMs = 5,
        RetryBackoffMs = 50,
        RetryBackoffMaxMs = 200,
        ReconnectBackoffMs = 50,
        ReconnectBackoffMaxMs = 200,
    };

    private static ProducerConfig NoRetryConfig(string bootstrapServers) => new()
    {
        BootstrapServers = bootstrapServers,
        EnableIdempotence = false,
        Acks = Acks.All,
        MessageSendMaxRetries = 0,
        MessageTimeoutMs = 10_000,
    };

    private static ErrorCode ProduceOne(IProducer<string, string> producer, string topic, string value)
    {
        try
        {
            producer.ProduceAsync(new TopicPartition(topic, 0), new Message<string, string> { Key = value, Value = value }).GetAwaiter().GetResult();
            return ErrorCode.NoError;
        }
        catch (ProduceException<string, string> e)
        {
            return e.Error.Code;
        }
    }

    private static void Flush(IProducer<string, string> producer)
    {
        var left = producer.Flush(TimeSpan.FromSeconds(20));
        Assert.Equal(0, left);
    }

    private void AssertExactlyOnce(EmbeddedKafka kafka, string topic, int partitions, Sender sender, int expectedTotal)
    {
        AssertDelivered(sender, expectedTotal);

        // Nothing was appended twice: each partition's log is exactly the acknowledged messages, in send order.
        var consumed = ConsumeAll(kafka.BootstrapServers, topic, partitions);
        for (var p = 0; p < partitions; p++)
        {
            var acknowledged = sender.Reports.Where(r => r.Partition.Value == p).OrderBy(r => r.Offset.Value).ToList();
            Assert.Equal(acknowledged.Select(r => r.Offset.Value), consumed[p].Select(m => m.Offset.Value));
            Assert.Equal(acknowledged.Select(r => r.Message.Value), consumed[p].Select(m => m.Message.Value));
            var sentOrder = acknowledged.Select(r => int.Parse(r.Message.Key)).ToList();
            Assert.Equal(sentOrder.Order(), sentOrder);
        }
    }

    private static void AssertDelivered(Sender sender, int expectedTotal)
    {
        var reports = sender.Reports.ToList();
        Assert.Equal(expectedTotal, sender.Sent);
        Assert.Equal(expectedTotal, reports.Count);
        Assert.All(reports, r => Assert.False(r.Error.IsError, $"{r.Message.Value}: {r.Error}"));
        Assert.All(reports, r => Assert.Equal(PersistenceStatus.Persisted, r.Status));
        Assert.Equal(expectedTotal, reports.Select(r => r.Message.Value).Distinct(StringComparer.Ordinal).Count());

        // Offsets per partition are dense (after any messages other producers put first): each exactly once.
        foreach (var partition in reports.GroupBy(r => r.Partition.Value))
        {
            var offsets = partition.Select(r => r.Offset.Value).Order().ToList();
            Assert.Equal(Enumerable.Range((int)offsets[0], offsets.Count).Select(o => (long)o), offsets);
            Assert.Equal(sender.SkipOffsets(partition.Key), offsets[0]);
        }
    }

    private List<ConsumeResult<string, string>>[] ConsumeAll(string bootstrapServers, string topic, int partitions)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "embedded-kafka-tests",
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        };
        var result = Enumerable.Range(0, partitions).Select(_ => new List<ConsumeResult<string, string>>()).ToArray();
        using var consumer = new ConsumerBuilder<string, string>(config).SetLogHandler(Log).Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));

        // The producers are done, so every partition's end is fixed: stop once each has reported end-of-partition.
        var atEnd = new HashSet<int>();
        using var deadline = new CancellationTokenSource(Patience);
        while (atEnd.Count < partitions && !deadline.IsCancellationRequested)
        {
            var message = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (message is null)
            {
                continue;
            }

            if (message.IsPartitionEOF)
            {
                atEnd.Add(message.Partition.Value);
                continue;
            }

            atEnd.Remove(message.Partition.Value);
            result[message.Partition.Value].Add(message);
        }

        Assert.True(atEnd.Count == partitions, $"only partitions [{string.Join(",", atEnd)}] reached their end within {Patience}");
        consumer.Close();
        return result;
    }

    private void Log(IClient client, LogMessage message)
    {
        // message.Name, not client.Name: librdkafka logs from inside rd_kafka_new (e.g. with debug "eos"), and touching
        // the Confluent client before its constructor returns throws there and then crashes the process (SIGSEGV).
        try
        {
            output.WriteLine($"{message.Name} {message.Level} {message.Facility}: {message.Message}");
        }
        catch (Exception)
        {
            // Called on librdkafka's threads: an exception here would take the process down. The usual case is a
            // line logged after the test finished, which has nowhere to go.
        }
    }

    /// <summary>Produces numbered messages round-robin over the partitions and keeps every delivery report.</summary>
    private sealed class Sender(IProducer<string, string> producer, string topic, int partitions, int skipOffsets = 0)
    {
        private int _next;

        public ConcurrentQueue<DeliveryReport<string, string>> Reports { get; } = new();

        public int Sent => _next;

        /// <summary>Offsets that other producers used before this one on a partition (only partition 0 is used by them).</summary>
        public long SkipOffsets(int partition) => partition == 0 ? skipOffsets : 0;

        public void Send(int count)
        {
            for (var i = 0; i < count; i++, _next++)
            {
                var message = new Message<string, string> { Key = _next.ToString(System.Globalization.CultureInfo.InvariantCulture), Value = $"value-{_next}" };
                producer.Produce(new TopicPartition(topic, _next % partitions), message, Reports.Enqueue);
            }
        }
    }
}
