using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Sluice.Functions;
using Sluice.Hosting;
using Sluice.Pipelines;
using Sluice.Sinks;
using Sluice.Kafka;
using Sluice.Kafka.Embedded;
using Sluice.Time;
using Sluice.Windows;

namespace Sluice.Benchmarks;

/// <summary>A page view as it sits in the benchmark topic (JSON value; the user is also the message key).</summary>
[GenerateSerializer, Immutable]
internal sealed record KafkaClick([property: Id(0)] string User, [property: Id(1)] long Ts, [property: Id(2)] string Page);

/// <summary>Clicks of one user in one tumbling window.</summary>
[GenerateSerializer, Immutable]
internal sealed record KafkaUserWindowCount([property: Id(0)] string User, [property: Id(1)] long WindowEnd, [property: Id(2)] long Count);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(KafkaClick))]
internal sealed partial class KafkaBenchmarkJson : JsonSerializerContext;

/// <summary>
/// A Kafka topic read by the engine (FromKafka -> event time -> KeyBy(user) -> 10 s tumbling count -> sink, one real
/// silo) against Confluent.Kafka's plain consume loop over the same topic in the same run. The topic lives in the
/// embedded Kafka (librdkafka's mock cluster, in this process); producing it is not part of any figure.
/// Prints records/s for each and the ratio; asserts nothing.
/// </summary>
internal static class KafkaPipelineBenchmark
{
    private const string Topic = "clicks";
    private const int Partitions = 4;
    private const int Users = 5_000;
    private const long StartTime = 1_700_000_000_000;
    private const long EventTimeRecordsPerSecond = 20_000;
    private const long MaxJitterMs = 500;
    private static readonly TimeSpan OutOfOrderness = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
    private static readonly string[] Pages = ["/", "/search", "/product", "/cart", "/checkout", "/help"];

    public static async Task RunAsync(long totalRecords)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(totalRecords, 1);
        using var kafka = EmbeddedKafka.Start(brokers: 3);
        kafka.CreateTopic(Topic, Partitions);
        Console.WriteLine($"kafka pipeline benchmark: {totalRecords:N0} records, {Partitions} partitions, 3 mock brokers, {Users:N0} users, {Environment.ProcessorCount} cores");
        Console.WriteLine($"  librdkafka        : {kafka.LibraryVersion} ({Path.GetFileName(kafka.LibraryPath)})");

        var produced = Produce(kafka, totalRecords);
        Console.WriteLine($"  produced (untimed): {totalRecords:N0} records, {produced.ValueBytes / (double)totalRecords:F1} value bytes/record, zstd, in {produced.Elapsed.TotalSeconds:F2} s");
        var inTopic = CountInTopic(kafka);
        Console.WriteLine($"  in topic          : {inTopic.Records:N0} records (sum of high - low watermarks: {inTopic.Detail})");
        if (inTopic.Records != totalRecords || !inTopic.AllFromZero)
        {
            Console.WriteLine($"  ABORTED: the topic holds {inTopic.Records:N0} of {totalRecords:N0} records from offset 0; the mock cluster keeps only ~5 MiB / 100,000 batches per partition. Use a smaller --records.");
            return;
        }

        var bytesOnly = ConsumeLoop(kafka, totalRecords, ConsumeMode.BytesOnly);
        Console.WriteLine($"  consume, bytes    : {bytesOnly.Rate,14:N0} records/s  ({bytesOnly.Elapsed.TotalSeconds:F2} s; Confluent consume loop, no deserialisation)");
        var json = ConsumeLoop(kafka, totalRecords, ConsumeMode.Json);
        Console.WriteLine($"  consume + JSON    : {json.Rate,14:N0} records/s  ({json.Elapsed.TotalSeconds:F2} s; same loop, System.Text.Json source-generated)");
        var windowed = ConsumeLoop(kafka, totalRecords, ConsumeMode.JsonAndWindows);
        Console.WriteLine($"  consume+JSON+count: {windowed.Rate,14:N0} records/s  ({windowed.Elapsed.TotalSeconds:F2} s; same loop counting per user and 10 s window in a dictionary, {windowed.Windows!.Count:N0} windows)");
        var parallel = ConsumeInParallel(kafka, inTopic.PerPartition);
        Console.WriteLine($"  4 consumers + JSON: {parallel.Rate,14:N0} records/s  ({parallel.Elapsed.TotalSeconds:F2} s; one consumer and thread per partition, as the engine reads; context only)");

        var engine = await RunEngineAsync(kafka, totalRecords);
        if (engine is null)
        {
            return;
        }

        Console.WriteLine($"  sluice, 1 silo    : {engine.Rate,14:N0} records/s  ({engine.Elapsed.TotalSeconds:F2} s from registering the pipeline to the sink's completion, {engine.Results.Count:N0} windows)");
        Console.WriteLine($"  ratio engine / consume+JSON       : {engine.Rate / json.Rate:F3}");
        Console.WriteLine($"  ratio engine / consume, bytes     : {engine.Rate / bytesOnly.Rate:F3}");
        Console.WriteLine($"  ratio engine / consume+JSON+count : {engine.Rate / windowed.Rate:F3}");
        Console.WriteLine($"  ratio engine / 4 consumers + JSON : {engine.Rate / parallel.Rate:F3}");
        Console.WriteLine($"  exchange batches  : {engine.Batches:N0} ({engine.Batches / engine.Elapsed.TotalSeconds:N0}/s)");
        Console.WriteLine($"  bare watermarks   : {engine.BareWatermarks:N0} ({engine.BareWatermarks / engine.Elapsed.TotalSeconds:N0}/s control messages)");
        Console.WriteLine($"  allocated         : {engine.AllocatedBytes / (double)totalRecords:F1} bytes/record (whole process, engine run)");

        // Correctness: the engine's window counts sum to N and equal, window by window, what the loop counted.
        var sum = engine.Results.Sum(r => r.Count);
        var expected = windowed.Windows;
        var differing = 0;
        var seen = new HashSet<(string, long)>();
        foreach (var r in engine.Results)
        {
            if (!seen.Add((r.User, r.WindowEnd)) || !expected.TryGetValue((r.User, r.WindowEnd), out var count) || count != r.Count)
            {
                differing++;
            }
        }

        differing += expected.Count - seen.Count(expected.ContainsKey);
        Console.WriteLine($"  check             : engine window counts sum to {sum:N0} of {totalRecords:N0} ({(sum == totalRecords ? "OK" : "MISMATCH")}); "
            + $"{engine.Results.Count:N0} engine windows vs {expected.Count:N0} counted by the loop, {differing:N0} differing ({(differing == 0 ? "OK" : "MISMATCH")})");
    }

    private static (TimeSpan Elapsed, long ValueBytes) Produce(EmbeddedKafka kafka, long totalRecords)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            Acks = Acks.Leader,
            EnableIdempotence = false,
            LingerMs = 50,
            BatchSize = 1_000_000,
            BatchNumMessages = 100_000,
            CompressionType = CompressionType.Zstd,
            QueueBufferingMaxMessages = 1_000_000,
            QueueBufferingMaxKbytes = 1_048_576,
            MessageTimeoutMs = 120_000,
        };

        long failed = 0;
        string? firstError = null;
        long valueBytes = 0;
        var userKeys = new byte[Users][];
        var userNames = new string[Users];
        for (var u = 0; u < Users; u++)
        {
            userNames[u] = $"u{u:D4}";
            userKeys[u] = Encoding.UTF8.GetBytes(userNames[u]);
        }

        var watch = Stopwatch.StartNew();
        using (var producer = new ProducerBuilder<byte[], byte[]>(config).Build())
        {
            var random = new Random(42);
            var partitions = Enumerable.Range(0, Partitions).Select(p => new TopicPartition(Topic, p)).ToArray();
            Action<DeliveryReport<byte[], byte[]>> onDelivery = report =>
            {
                if (report.Error.IsError && Interlocked.Increment(ref failed) == 1)
                {
                    firstError = report.Error.Reason;
                }
            };

            for (long i = 0; i < totalRecords; i++)
            {
                var user = random.Next(Users);
                // Event time advances at a fixed rate; each record is up to MaxJitterMs early (within the watermark's bound).
                var ts = StartTime + (i * 1_000 / EventTimeRecordsPerSecond) - random.NextInt64(0, MaxJitterMs + 1);
                var value = JsonSerializer.SerializeToUtf8Bytes(new KafkaClick(userNames[user], ts, Pages[random.Next(Pages.Length)]), KafkaBenchmarkJson.Default.KafkaClick);
                valueBytes += value.Length;
                // A user's clicks stay in one partition, as key partitioning would do, with balanced partitions.
                var message = new Message<byte[], byte[]> { Key = userKeys[user], Value = value, Timestamp = new Timestamp(ts, TimestampType.CreateTime) };
                while (true)
                {
                    try
                    {
                        producer.Produce(partitions[user % Partitions], message, onDelivery);
                        break;
                    }
                    catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
                    {
                        producer.Poll(TimeSpan.FromMilliseconds(50));
                    }
                }
            }

            producer.Flush(TimeSpan.FromMinutes(2));
        }

        watch.Stop();
        if (failed > 0)
        {
            throw new InvalidOperationException($"{failed:N0} records were not delivered to the embedded Kafka; first error: {firstError}");
        }

        return (watch.Elapsed, valueBytes);
    }

    private static (long Records, bool AllFromZero, string Detail, long[] PerPartition) CountInTopic(EmbeddedKafka kafka)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = "bench-count" }).Build();
        long total = 0;
        var allFromZero = true;
        var parts = new List<string>();
        var perPartition = new long[Partitions];
        for (var p = 0; p < Partitions; p++)
        {
            var offsets = consumer.QueryWatermarkOffsets(new TopicPartition(Topic, p), TimeSpan.FromSeconds(15));
            total += offsets.High.Value - offsets.Low.Value;
            perPartition[p] = offsets.High.Value - offsets.Low.Value;
            allFromZero &= offsets.Low.Value == 0;
            parts.Add($"p{p} {offsets.Low.Value}..{offsets.High.Value:N0}");
        }

        return (total, allFromZero, string.Join(", ", parts), perPartition);
    }

    private enum ConsumeMode
    {
        BytesOnly,
        Json,
        JsonAndWindows,
    }

    private sealed record LoopResult(double Rate, TimeSpan Elapsed, Dictionary<(string User, long WindowEnd), long>? Windows);

    /// <summary>
    /// Confluent.Kafka's plain loop: one consumer, all partitions assigned manually from the beginning, consumed until
    /// N messages arrived. Timed from building the consumer to the Nth message.
    /// </summary>
    private static LoopResult ConsumeLoop(EmbeddedKafka kafka, long totalRecords, ConsumeMode mode)
    {
        var typeInfo = KafkaBenchmarkJson.Default.KafkaClick;
        var size = (long)Window.TotalMilliseconds;
        var windows = mode == ConsumeMode.JsonAndWindows ? new Dictionary<(string User, long WindowEnd), long>() : null;
        long count = 0, checksum = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
        var watch = Stopwatch.StartNew();
        using (var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            GroupId = $"bench-raw-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            EnablePartitionEof = false,
        }).Build())
        {
            consumer.Assign(Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(Topic, p, Offset.Beginning)));
            while (count < totalRecords)
            {
                var result = consumer.Consume(TimeSpan.FromSeconds(1));
                if (result is null)
                {
                    if (DateTime.UtcNow > deadline)
                    {
                        throw new TimeoutException($"The plain consume loop read {count:N0} of {totalRecords:N0} records in 5 minutes.");
                    }

                    continue;
                }

                count++;
                var value = result.Message.Value!;
                if (mode == ConsumeMode.BytesOnly)
                {
                    checksum += value.Length;
                    continue;
                }

                var click = JsonSerializer.Deserialize(value, typeInfo)!;
                checksum += click.Ts;
                if (windows is not null)
                {
                    var windowStart = click.Ts - (((click.Ts % size) + size) % size);
                    var key = (click.User, windowStart + size);
                    windows[key] = windows.GetValueOrDefault(key) + 1;
                }
            }

            watch.Stop();
            consumer.Close();
        }

        GC.KeepAlive(checksum);
        return new LoopResult(totalRecords / watch.Elapsed.TotalSeconds, watch.Elapsed, windows);
    }

    /// <summary>
    /// The same consume + JSON work with one consumer per partition, each on its own thread (the engine's reading
    /// structure: it runs one consumer thread per partition). Timed from starting the threads to the last one's last record.
    /// </summary>
    private static LoopResult ConsumeInParallel(EmbeddedKafka kafka, long[] perPartition)
    {
        var typeInfo = KafkaBenchmarkJson.Default.KafkaClick;
        var checksums = new long[Partitions];
        var errors = new Exception?[Partitions];
        var finished = new TimeSpan[Partitions];
        var total = perPartition.Sum();
        var watch = Stopwatch.StartNew();
        var threads = Enumerable.Range(0, Partitions).Select(p => new Thread(() =>
        {
            try
            {
                using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
                {
                    BootstrapServers = kafka.BootstrapServers,
                    GroupId = $"bench-raw-{Guid.NewGuid():N}",
                    EnableAutoCommit = false,
                    EnablePartitionEof = false,
                }).Build();
                consumer.Assign(new TopicPartitionOffset(Topic, p, Offset.Beginning));
                var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
                long count = 0, checksum = 0;
                while (count < perPartition[p])
                {
                    var result = consumer.Consume(TimeSpan.FromSeconds(1));
                    if (result is null)
                    {
                        if (DateTime.UtcNow > deadline)
                        {
                            throw new TimeoutException($"Partition {p}: read {count:N0} of {perPartition[p]:N0} records in 5 minutes.");
                        }

                        continue;
                    }

                    count++;
                    checksum += JsonSerializer.Deserialize(result.Message.Value!, typeInfo)!.Ts;
                }

                finished[p] = watch.Elapsed; // before Close, as in the single-consumer loop
                checksums[p] = checksum;
                consumer.Close();
            }
            catch (Exception ex)
            {
                errors[p] = ex;
            }
        })
        { IsBackground = true, Name = $"bench-consumer-{p}" }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        var elapsed = finished.Max();
        if (errors.FirstOrDefault(e => e is not null) is { } error)
        {
            throw new InvalidOperationException("A parallel consumer failed.", error);
        }

        GC.KeepAlive(checksums);
        return new LoopResult(total / elapsed.TotalSeconds, elapsed, null);
    }

    private sealed record EngineResult(double Rate, TimeSpan Elapsed, IReadOnlyList<KafkaUserWindowCount> Results, long Batches, long BareWatermarks, long AllocatedBytes);

    private static async Task<EngineResult?> RunEngineAsync(EmbeddedKafka kafka, long totalRecords)
    {
        var builder = new TestClusterBuilder(1);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        await using var cluster = builder.Build();
        await cluster.DeployAsync();

        var sink = new CollectingSink<KafkaUserWindowCount>("counts");
        var pipeline = Pipeline.Create("kafka-bench");
        pipeline.FromKafka(Topic, KafkaFormats.Json(KafkaBenchmarkJson.Default.KafkaClick), o =>
            {
                o.BootstrapServers = kafka.BootstrapServers;
                o.StopAtEndOffsets = true;
                o.GroupId = "bench-engine";
            })
            .WithTimestamps(c => c.Ts, WatermarkStrategy.BoundedOutOfOrderness(OutOfOrderness))
            .KeyBy(c => c.User)
            .Window(Tumbling.Of(Window))
            .Aggregate(Aggregates.Count<KafkaClick>(), (user, window, count) => new KafkaUserWindowCount(user, window.End, count), "clicks-per-user")
            .SinkTo(sink);

        using var counters = new ExchangeCounters();

        var allocatedBefore = GC.GetTotalAllocatedBytes();
        var watch = Stopwatch.StartNew();
        foreach (var silo in cluster.Silos.OfType<InProcessSiloHandle>())
        {
            silo.SiloHost.Services.GetRequiredService<PipelineRegistry>().Register(pipeline);
        }

        // Wait for the sink; give up early if the pipeline fails (its completion would never come).
        var pipelineGrain = cluster.Client.GetGrain<Grains.IPipelineGrain>(pipeline.Id);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
        while (!sink.Completion.IsCompleted)
        {
            await Task.WhenAny(sink.Completion, Task.Delay(1_000));
            if (sink.Completion.IsCompleted)
            {
                break;
            }

            var current = await pipelineGrain.GetStatusAsync();
            if (current.State == Grains.PipelineState.Failed || DateTime.UtcNow > deadline)
            {
                Console.WriteLine($"  ABORTED: engine {current.State} after {watch.Elapsed.TotalSeconds:F0} s, in={current.RecordsIn:N0}, error={current.LastError ?? "-"}");
                return null;
            }
        }

        watch.Stop();
        var allocated = GC.GetTotalAllocatedBytes() - allocatedBefore;
        await Task.Delay(1500); // let the last progress reports (which publish the counters) arrive
        var status = await pipelineGrain.GetStatusAsync();
        Console.WriteLine($"  status            : {status.State}, in={status.RecordsIn:N0}, late={status.LateRecordsDropped}, invalid={status.InvalidRecords}, dead letters={status.DeadLetters} {status.LastError}");
        foreach (var stage in status.Stages)
        {
            Console.WriteLine($"    stage {stage.Index} {stage.Name}: in={stage.RecordsIn:N0} out={stage.RecordsOut:N0} tasks={stage.ActiveTasks}/{stage.Parallelism} duplicates={stage.DuplicatesDropped}");
        }

        return new EngineResult(totalRecords / watch.Elapsed.TotalSeconds, watch.Elapsed, sink.Values, counters.Batches, counters.BareWatermarks, allocated);
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) => siloBuilder.AddSluice();
    }
}
