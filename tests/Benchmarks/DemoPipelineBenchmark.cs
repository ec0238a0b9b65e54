using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Sluice.Functions;
using Sluice.Hosting;
using Sluice.Pipelines;
using Sluice.Silo.Demo;
using Sluice.Sinks;

namespace Sluice.Benchmarks;

/// <summary>
/// The demo pipeline (clicks per user per window, then top users per window) on the generator, unthrottled
/// and bounded, through one real silo — against a hand-written single-threaded loop that computes the same
/// windows from the same generated events in the same process. Prints events/s for both and the ratio.
/// </summary>
internal static class DemoPipelineBenchmark
{
    public static async Task RunAsync(long totalRecords)
    {
        var options = new DemoOptions { Partitions = 4, RecordsPerSecond = 0, Users = 5_000, PipelineId = "bench", CheckpointInterval = null };
        var perPartition = totalRecords / options.Partitions;
        const long start = 1_700_000_000_000;
        Console.WriteLine($"demo pipeline benchmark: {perPartition * options.Partitions:N0} records, {options.Partitions} partitions, {options.Users:N0} users, {Environment.ProcessorCount} cores");

        var demoSource = ClickPipeline.Source(options, start);
        var source = new Sources.GeneratorSource<ClickEvent>(
            "clicks",
            new Sources.GeneratorSourceOptions
            {
                Partitions = options.Partitions,
                RecordsPerSecond = 0,
                EventTimeRecordsPerSecond = 20_000,
                KeyCount = options.Users,
                MaxOutOfOrderness = options.MaxOutOfOrderness,
                RecordsPerPartition = perPartition,
                StartTime = DateTimeOffset.FromUnixTimeMilliseconds(start),
            },
            e => demoSource.Create(e));

        var baseline = RunBaseline(options, source, perPartition);
        Console.WriteLine($"  hand-written loop : {baseline.Rate,14:N0} events/s  ({baseline.Windows} windows, {baseline.Elapsed.TotalSeconds:F2} s)");

        var engine = await RunEngineAsync(options, source, perPartition);
        Console.WriteLine($"  sluice, 1 silo    : {engine.Rate,14:N0} events/s  ({engine.Windows} windows, {engine.Elapsed.TotalSeconds:F2} s)");
        Console.WriteLine($"  ratio engine/loop : {engine.Rate / baseline.Rate:F3}");
        Console.WriteLine($"  exchange batches  : {engine.Batches:N0} ({engine.Batches / engine.Elapsed.TotalSeconds:N0}/s)");
        Console.WriteLine($"  bare watermarks   : {engine.BareWatermarks:N0} ({engine.BareWatermarks / engine.Elapsed.TotalSeconds:N0}/s control messages)");
        Console.WriteLine($"  allocated         : {engine.AllocatedBytes / (double)(perPartition * options.Partitions):F1} bytes/record (whole process, engine run)");
        if (engine.Windows != baseline.Windows)
        {
            Console.WriteLine($"  MISMATCH: engine emitted {engine.Windows} top-N windows, the loop {baseline.Windows}");
        }
    }

    private static Result RunBaseline(DemoOptions options, Sources.GeneratorSource<ClickEvent> source, long perPartition)
    {
        var clicks = new Dictionary<(string User, long WindowEnd), long>();
        var size = (long)options.Window.TotalMilliseconds;
        var watch = Stopwatch.StartNew();
        // Same order the engine reads: partition by partition in rounds.
        for (long i = 0; i < perPartition; i++)
        {
            for (var p = 0; p < options.Partitions; p++)
            {
                var e = source.EventAt(p, i);
                var click = source.Create(e);
                var windowStart = click.Timestamp - (((click.Timestamp % size) + size) % size);
                var key = (click.UserId, windowStart + size);
                clicks[key] = clicks.GetValueOrDefault(key) + 1;
            }
        }

        var top = new TopUsersFunction(options.TopN);
        var windows = 0;
        var collector = new CountingCollector<TopUsers>(() => windows++);
        foreach (var group in clicks.GroupBy(kv => kv.Key.WindowEnd))
        {
            var users = group.Select(kv => new UserClicks(kv.Key.User, kv.Key.WindowEnd, kv.Value)).ToList();
            top.Process(group.Key, default, users, collector);
        }

        watch.Stop();
        return new Result(perPartition * options.Partitions / watch.Elapsed.TotalSeconds, windows, watch.Elapsed, 0, 0, 0);
    }

    private static async Task<Result> RunEngineAsync(DemoOptions options, Sources.GeneratorSource<ClickEvent> source, long perPartition)
    {
        var builder = new TestClusterBuilder(1);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        await using var cluster = builder.Build();
        await cluster.DeployAsync();

        var sink = new CollectingSink<TopUsers>("top");
        var pipeline = ClickPipeline.Create(options, source, sink);

        using var counters = new ExchangeCounters();

        var allocatedBefore = GC.GetTotalAllocatedBytes();
        var watch = Stopwatch.StartNew();
        foreach (var silo in cluster.Silos.OfType<InProcessSiloHandle>())
        {
            silo.SiloHost.Services.GetRequiredService<PipelineRegistry>().Register(pipeline);
        }

        await sink.Completion.WaitAsync(TimeSpan.FromMinutes(30));
        watch.Stop();
        var allocated = GC.GetTotalAllocatedBytes() - allocatedBefore;
        await Task.Delay(1500); // let the last progress reports (which publish the counters) arrive
        var status = await cluster.Client.GetGrain<Grains.IPipelineGrain>(pipeline.Id).GetStatusAsync();
        Console.WriteLine($"  status            : {status.State}, in={status.RecordsIn:N0}, late={status.LateRecordsDropped}, invalid={status.InvalidRecords} {status.LastError}");
        foreach (var stage in status.Stages)
        {
            Console.WriteLine($"    stage {stage.Index} {stage.Name}: in={stage.RecordsIn:N0} out={stage.RecordsOut:N0} tasks={stage.ActiveTasks}/{stage.Parallelism} duplicates={stage.DuplicatesDropped}");
        }

        return new Result(perPartition * options.Partitions / watch.Elapsed.TotalSeconds, sink.Count, watch.Elapsed, counters.Batches, counters.BareWatermarks, allocated);
    }

    private sealed record Result(double Rate, int Windows, TimeSpan Elapsed, long Batches, long BareWatermarks, long AllocatedBytes);

    private sealed class CountingCollector<T>(Action onCollect) : ICollector<T>
    {
        public void Collect(T value) => onCollect();
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) => siloBuilder.AddSluice();
    }
}
