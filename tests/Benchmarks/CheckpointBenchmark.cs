using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Sluice.Functions;
using Sluice.Grains;
using Sluice.Hosting;
using Sluice.Pipelines;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Storage;
using Sluice.Time;
using Sluice.Windows;

namespace Sluice.Benchmarks;

/// <summary>
/// What aligned checkpoints cost a running pipeline with a lot of window state. An unthrottled generator with N
/// distinct keys (every key seen within the first N records) feeds a keyed one-day tumbling count whose window never
/// closes during the run, so the state holds N entries. Checkpoints go to the local file system with a gap of
/// <see cref="CheckpointGap"/> between one's end and the next one's start, which leaves stretches without a checkpoint
/// in flight to compare with. Records read by the sources and records counted in the window stage are sampled every
/// <see cref="SampleInterval"/>; each sample is classed as during a checkpoint (it overlaps one, from the coordinator
/// opening it to its _metadata commit) or not. Prints both throughputs for both classes and their ratio, checkpoint
/// durations and snapshot bytes; asserts nothing.
/// </summary>
internal static class CheckpointBenchmark
{
    private const int Partitions = 4;
    private const int CheckpointsMeasured = 6;
    private static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan CheckpointGap = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan MaxMeasurement = TimeSpan.FromMinutes(5);

    public static async Task RunAsync(IReadOnlyList<long> keyCounts)
    {
        Console.WriteLine($"checkpoint benchmark: {Partitions} partitions, 1 silo, local file system store, {Environment.ProcessorCount} cores; "
            + $"{CheckpointsMeasured} checkpoints per size, {CheckpointGap.TotalSeconds:F0} s between them, throughput sampled every {SampleInterval.TotalMilliseconds:F0} ms");
        // Figures from a shared machine mean little without its load.
        if (File.Exists("/proc/loadavg"))
        {
            Console.WriteLine($"  load average (1, 5, 15 min) at start: {string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3))}");
        }

        foreach (var keys in keyCounts)
        {
            await RunOnceAsync(keys);
        }
    }

    private static async Task RunOnceAsync(long keys)
    {
        var root = Directory.CreateTempSubdirectory("sluice-checkpoint-bench-").FullName;
        try
        {
            var builder = new TestClusterBuilder(1);
            builder.AddSiloBuilderConfigurator<SiloConfigurator>();
            builder.Properties[SiloConfigurator.RootKey] = root;
            await using var cluster = builder.Build();
            await cluster.DeployAsync();

            var processed = new ProcessedCounter();
            // sluice.source.records_in is added per source pull; records reach the window stage later (alignment holds them).
            using var read = new InstrumentTotal("sluice.source.records_in");
            var pipelineId = $"checkpoint-bench-{keys}";
            var pipeline = Define(pipelineId, keys, processed);
            foreach (var silo in cluster.Silos.OfType<InProcessSiloHandle>())
            {
                silo.SiloHost.Services.GetRequiredService<PipelineRegistry>().Register(pipeline);
            }

            var coordinator = cluster.Client.GetGrain<ICheckpointCoordinatorGrain>(pipelineId);
            var status = cluster.Client.GetGrain<IPipelineGrain>(pipelineId);

            // Fill the state: every key is in it after the first N records.
            var fill = Stopwatch.StartNew();
            while (processed.Count < keys && fill.Elapsed < MaxMeasurement)
            {
                await Task.Delay(SampleInterval);
            }

            var lastBefore = (await coordinator.GetHistoryAsync()).Select(c => c.Id).DefaultIfEmpty().Max();
            Console.WriteLine($"  {keys,9:N0} keys: state filled in {fill.Elapsed.TotalSeconds:F1} s; measuring from checkpoint {lastBefore + 1} on");

            // Sample the window stage's record count until enough checkpoints that began after the fill are over.
            var samples = new List<Sample>();
            var last = new Sample(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, read.Total, processed.Count);
            var measuring = Stopwatch.StartNew();
            List<CheckpointInfo> measured = [];
            while (measuring.Elapsed < MaxMeasurement)
            {
                // A delay, not a PeriodicTimer: a late timer fires missed ticks at once, giving empty zero-length samples.
                // Samples are as long as they really were; each rate uses its own length.
                await Task.Delay(SampleInterval);
                var now = new Sample(last.To, DateTimeOffset.UtcNow, read.Total, processed.Count);
                samples.Add(now with { Read = now.Read - last.Read, Processed = now.Processed - last.Processed });
                last = now;
                if (samples.Count % 4 == 0)
                {
                    measured = (await coordinator.GetHistoryAsync()).Where(c => c.Id > lastBefore && c.State != CheckpointState.InProgress).ToList();
                    if (measured.Count >= CheckpointsMeasured)
                    {
                        break;
                    }
                }
            }

            // Samples are classed against every checkpoint, also one in flight when measuring began or still running.
            var all = await coordinator.GetHistoryAsync();
            var final = await status.GetStatusAsync();
            // Processed first: every record counted in the window stage was read before, so processed <= read unless
            // something was processed twice.
            var processedTotal = processed.Count;
            Report(keys, samples, measured, all, final, read.Total, processedTotal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static Pipeline Define(string pipelineId, long keys, ProcessedCounter processed)
    {
        var source = new GeneratorSource<long>(
            "keys",
            new GeneratorSourceOptions { Partitions = Partitions, RecordsPerSecond = 0, KeyCount = keys },
            // Round robin over the keys, so the first N records touch every key once.
            e => ((e.Index * Partitions) + e.Partition) % keys);
        var pipeline = Pipeline.Create(pipelineId, o =>
        {
            o.CheckpointInterval = CheckpointGap;
            o.RetainedCheckpoints = 2;
            o.ResumeFromCheckpoint = false;
        });
        // Every record at event time 0: one window per key, which never closes (the watermark stays below its end).
        pipeline.From(source)
            .WithTimestamps(_ => 0L, WatermarkStrategy.ForMonotonousTimestamps())
            .KeyBy(k => k)
            .Window(Tumbling.Of(TimeSpan.FromDays(1)))
            .Aggregate(new CountingAggregate(processed), (key, window, count) => (key, count), "counts")
            .SinkTo(new CollectingSink<(long, long)>("never"));
        return pipeline;
    }

    private static void Report(long keys, List<Sample> samples, List<CheckpointInfo> checkpoints, IReadOnlyList<CheckpointInfo> all, PipelineStatus status, long readTotal, long processedTotal)
    {
        var completed = checkpoints.Where(c => c.State == CheckpointState.Completed).ToList();
        bool During(Sample s) => all.Any(c => s.From < c.StartedAt.AddMilliseconds(c.DurationMilliseconds) && c.StartedAt < s.To);
        var during = samples.Where(During).ToList();
        var quiet = samples.Where(s => !During(s)).ToList();
        var durations = completed.Select(c => c.DurationMilliseconds).Order().ToList();
        var bytes = completed.Select(c => c.Bytes).ToList();

        Console.WriteLine($"    state entries      : {status.Stages.Sum(s => s.StateEntries):N0} (status); records read {readTotal:N0}, counted in the window stage {processedTotal:N0}");
        Console.WriteLine($"    samples            : {quiet.Count} without a checkpoint in flight, {during.Count} during one");
        PrintThroughput("read by sources", quiet, during, s => s.Read);
        PrintThroughput("window stage", quiet, during, s => s.Processed);
        Console.WriteLine($"    checkpoints        : {completed.Count} completed, {checkpoints.Count - completed.Count} failed {string.Join("; ", checkpoints.Where(c => c.Failure is not null).Select(c => c.Failure))}");
        if (durations.Count > 0)
        {
            Console.WriteLine($"    duration           : p50 {Percentile(durations, 0.5):N0} ms, max {durations[^1]:N0} ms (all: {string.Join(", ", durations)})");
            Console.WriteLine($"    alignment max      : {completed.Max(c => c.MaxAlignmentMilliseconds):N0} ms");
            Console.WriteLine($"    snapshot bytes     : {bytes.Average():N0} per checkpoint ({bytes.Average() / keys:F1} bytes/key, min {bytes.Min():N0}, max {bytes.Max():N0})");
        }
    }

    private static void PrintThroughput(string what, List<Sample> quiet, List<Sample> during, Func<Sample, long> records)
    {
        double Rate(List<Sample> samples) => samples.Count == 0 ? double.NaN : samples.Sum(records) / samples.Sum(s => (s.To - s.From).TotalSeconds);
        double Worst(List<Sample> samples) => samples.Count == 0 ? double.NaN : samples.Min(s => records(s) / (s.To - s.From).TotalSeconds);
        var baseline = Rate(quiet);
        var inFlight = Rate(during);
        Console.WriteLine($"    {what,-18} : baseline {baseline,10:N0}/s, during checkpoints {inFlight,10:N0}/s, ratio {inFlight / baseline:F3}; "
            + $"worst sample {Worst(quiet):N0}/s baseline, {Worst(during):N0}/s during");
    }

    private static long Percentile(List<long> sorted, double p) => sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(p * sorted.Count))];

    /// <summary>Records read by the sources and counted in the window stage between <see cref="From"/> and <see cref="To"/>.</summary>
    private sealed record Sample(DateTimeOffset From, DateTimeOffset To, long Read, long Processed);

    /// <summary>Shared by the window stage's aggregate instances (all in this process): one increment per record.</summary>
    private sealed class ProcessedCounter
    {
        private long _count;

        public long Count => Interlocked.Read(ref _count);

        public void Increment() => Interlocked.Increment(ref _count);
    }

    /// <summary>A count that also counts every record it sees, where the state lives (the key-group grains).</summary>
    private sealed class CountingAggregate(ProcessedCounter processed) : IAggregateFunction<long, long, long>
    {
        public long CreateAccumulator() => 0;

        public long Add(long value, long accumulator)
        {
            processed.Increment();
            return accumulator + 1;
        }

        public long GetResult(long accumulator) => accumulator;

        public long Merge(long a, long b) => a + b;
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public const string RootKey = "Sluice:Benchmarks:CheckpointRoot";

        public void Configure(ISiloBuilder siloBuilder)
        {
            var root = siloBuilder.Configuration[RootKey]!;
            siloBuilder.AddSluice();
            siloBuilder.Services.AddSluiceCheckpointStorage(o =>
            {
                o.Kind = CheckpointStoreKinds.FileSystem;
                o.FileSystem.Root = root;
            });
        }
    }
}
