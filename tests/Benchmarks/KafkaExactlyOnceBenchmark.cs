using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Sluice.Functions;
using Sluice.Hosting;
using Sluice.Kafka;
using Sluice.Kafka.Embedded;
using Sluice.Pipelines;
using Sluice.Sinks;
using Sluice.Storage;
using Sluice.Time;
using Sluice.Windows;

namespace Sluice.Benchmarks;

[System.Text.Json.Serialization.JsonSerializable(typeof(KafkaUserWindowCount))]
internal sealed partial class KafkaCountJson : System.Text.Json.Serialization.JsonSerializerContext;

/// <summary>
/// The Kafka path end to end, Kafka -> 10 s tumbling count per user -> Kafka, three ways in one run over the same input
/// topic on the embedded Kafka: Confluent.Kafka's plain consume/count/produce loop, and the engine (one real silo,
/// checkpoints every second) with the Kafka sink at least once and exactly once. Prints records/s, the process's
/// CPU-seconds (the in-process mock broker included, in every row alike) and the ratios to the plain loop; asserts nothing.
/// </summary>
internal static class KafkaExactlyOnceBenchmark
{
    private const string Input = "clicks-in";
    private const int Partitions = 4;
    private const int Users = 5_000;
    private const long StartTime = 1_700_000_000_000;
    private const long EventTimeRecordsPerSecond = 20_000;
    private const long MaxJitterMs = 500;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CheckpointInterval = TimeSpan.FromSeconds(1);
    private static string _checkpointRoot = string.Empty;

    public static async Task RunAsync(long totalRecords)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(totalRecords, 1);
        using var kafka = EmbeddedKafka.Start(brokers: 3);
        kafka.CreateTopic(Input, Partitions);
        foreach (var output in new[] { "counts-raw", "counts-alo", "counts-eos" })
        {
            kafka.CreateTopic(output, Partitions);
        }

        kafka.CreateTopic("_sluice-kafka-commits", 1);
        _checkpointRoot = Directory.CreateTempSubdirectory("sluice-bench-eos-").FullName;
        Console.WriteLine($"kafka exactly-once benchmark: {totalRecords:N0} records, {Partitions} partitions, 3 mock brokers, {Users:N0} users, checkpoints every {CheckpointInterval.TotalSeconds:F0} s, {Environment.ProcessorCount} cores");
        Produce(kafka, totalRecords);

        var raw = await Measure(() => Task.FromResult(RawLoop(kafka, totalRecords)));
        Print("plain consume/count/produce", raw, raw, "one consumer, dictionary of counts, idempotent producer, flushed at the end");

        // Engine runs are timed from registering the pipeline (the silo already started) to the last count read back.
        var alo = await RunEngineAsync(kafka, "counts-alo", DeliveryGuarantee.AtLeastOnce, totalRecords, raw.Output);
        Print("sluice, at least once", alo, raw, "idempotent producer flushed at each barrier; first engine run, JIT included");
        var eos = await RunEngineAsync(kafka, "counts-eos", DeliveryGuarantee.ExactlyOnce, totalRecords, raw.Output);
        Print("sluice, exactly once", eos, raw, "one transaction per sink task and checkpoint");

        try
        {
            Directory.Delete(_checkpointRoot, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private sealed record Run(TimeSpan Elapsed, TimeSpan Cpu, long Records, long Output);

    private static async Task<Run> Measure(Func<Task<(long Records, long Output)>> run)
    {
        var started = Start();
        var (records, output) = await run();
        return started.Stop(records, output);
    }

    private static (Stopwatch Watch, TimeSpan Cpu) Start()
    {
        using var process = Process.GetCurrentProcess();
        return (Stopwatch.StartNew(), process.TotalProcessorTime);
    }

    private static Run Stop(this (Stopwatch Watch, TimeSpan Cpu) started, long records, long output)
    {
        started.Watch.Stop();
        using var process = Process.GetCurrentProcess();
        return new Run(started.Watch.Elapsed, process.TotalProcessorTime - started.Cpu, records, output);
    }

    private static void Print(string what, Run run, Run baseline, string note)
    {
        var rate = run.Records / run.Elapsed.TotalSeconds;
        var perCpu = run.Records / run.Cpu.TotalSeconds;
        var baseRate = baseline.Records / baseline.Elapsed.TotalSeconds;
        var basePerCpu = baseline.Records / baseline.Cpu.TotalSeconds;
        Console.WriteLine($"  {what,-28}: {rate,12:N0} records/s, {run.Cpu.TotalSeconds,7:F1} CPU-s, {perCpu,12:N0} records/CPU-s; "
            + $"ratio {rate / baseRate:F3} (records/s), {perCpu / basePerCpu:F3} (per CPU-s); {run.Output:N0} counts out in {run.Elapsed.TotalSeconds:F1} s ({note})");
    }

    private static void Produce(EmbeddedKafka kafka, long totalRecords)
    {
        var users = Enumerable.Range(0, Users).Select(u => $"u{u:D4}").ToArray();
        var random = new Random(42);
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            LingerMs = 50,
            BatchSize = 1_000_000,
            CompressionType = CompressionType.Zstd,
            QueueBufferingMaxMessages = 1_000_000,
        }).Build();
        for (long i = 0; i < totalRecords; i++)
        {
            var user = random.Next(Users);
            var ts = StartTime + (i * 1_000 / EventTimeRecordsPerSecond) - random.NextInt64(0, MaxJitterMs + 1);
            var value = JsonSerializer.SerializeToUtf8Bytes(new KafkaClick(users[user], ts, "/"), KafkaBenchmarkJson.Default.KafkaClick);
            while (true)
            {
                try
                {
                    producer.Produce(new TopicPartition(Input, user % Partitions), new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(users[user]), Value = value });
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

    /// <summary>Consume every record, count per (user, window) in a dictionary, produce the counts, flush: the floor of the work.</summary>
    private static (long Records, long Output) RawLoop(EmbeddedKafka kafka, long totalRecords)
    {
        var size = (long)Window.TotalMilliseconds;
        var counts = new Dictionary<(string User, long End), long>();
        using (var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig { BootstrapServers = kafka.BootstrapServers, GroupId = "bench-raw", EnableAutoCommit = false }).Build())
        {
            consumer.Assign(Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(Input, p, Offset.Beginning)));
            for (long n = 0; n < totalRecords;)
            {
                if (consumer.Consume(TimeSpan.FromSeconds(1)) is not { } result)
                {
                    continue;
                }

                n++;
                var click = JsonSerializer.Deserialize(result.Message.Value!, KafkaBenchmarkJson.Default.KafkaClick)!;
                var key = (click.User, click.Ts - (click.Ts % size) + size);
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }
        }

        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers, EnableIdempotence = true, LingerMs = 5 }).Build();
        foreach (var ((user, end), count) in counts)
        {
            producer.Produce("counts-raw", new Message<string, byte[]> { Key = user, Value = JsonSerializer.SerializeToUtf8Bytes(new KafkaUserWindowCount(user, end, count), KafkaCountJson.Default.KafkaUserWindowCount) });
        }

        producer.Flush(TimeSpan.FromMinutes(2));
        return (totalRecords, counts.Count);
    }

    /// <summary>The engine on one silo; done when the output topic holds every window count (read read_committed).</summary>
    private static async Task<Run> RunEngineAsync(EmbeddedKafka kafka, string topic, DeliveryGuarantee guarantee, long totalRecords, long expectedWindows)
    {
        var builder = new TestClusterBuilder(1);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        await using var cluster = builder.Build();
        await cluster.DeployAsync();

        var pipeline = Pipeline.Create($"bench-{topic}", o => o.CheckpointInterval = CheckpointInterval);
        pipeline.FromKafka(Input, KafkaFormats.Json(KafkaBenchmarkJson.Default.KafkaClick), o =>
            {
                o.BootstrapServers = kafka.BootstrapServers;
                o.StopAtEndOffsets = true;
                o.GroupId = $"bench-{topic}";
            })
            .WithTimestamps(c => c.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(MaxJitterMs)))
            .KeyBy(c => c.User)
            .Window(Tumbling.Of(Window))
            .Aggregate(Aggregates.Count<KafkaClick>(), (user, window, count) => new KafkaUserWindowCount(user, window.End, count), "clicks-per-user")
            .ToKafka(topic, new JsonCountSerializer(), c => c.User, o =>
            {
                o.BootstrapServers = kafka.BootstrapServers;
                o.Guarantee = guarantee;
                o.TransactionalIdPrefix = "bench";
            });

        using var reader = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            GroupId = $"bench-reader-{topic}",
            EnableAutoCommit = false,
            IsolationLevel = IsolationLevel.ReadCommitted,
        }).Build();
        reader.Assign(Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var started = Start();
        foreach (var silo in cluster.Silos.OfType<InProcessSiloHandle>())
        {
            silo.SiloHost.Services.GetRequiredService<PipelineRegistry>().Register(pipeline);
        }

        long seen = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
        while (seen < expectedWindows)
        {
            if (reader.Consume(TimeSpan.FromMilliseconds(100)) is not null)
            {
                seen++;
            }
            else if (DateTime.UtcNow > deadline)
            {
                var status = await cluster.Client.GetGrain<Grains.IPipelineGrain>(pipeline.Id).GetStatusAsync();
                Console.WriteLine($"  ABORTED ({guarantee}): {seen:N0} of {expectedWindows:N0} counts after 10 min; {status.State}, in={status.RecordsIn:N0}, error={status.LastError ?? "-"}");
                break;
            }
        }

        return started.Stop(seen < expectedWindows ? 0 : totalRecords, seen);
    }

    private sealed class JsonCountSerializer : ISerializer<KafkaUserWindowCount>
    {
        public byte[] Serialize(KafkaUserWindowCount data, SerializationContext context) => JsonSerializer.SerializeToUtf8Bytes(data, KafkaCountJson.Default.KafkaUserWindowCount);
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.AddSluice();
            siloBuilder.Services.AddSluiceCheckpointStorage(o =>
            {
                o.Kind = CheckpointStoreKinds.FileSystem;
                o.FileSystem.Root = _checkpointRoot;
            });
        }
    }
}
