using Sluice.Sinks;
using Sluice.State;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Sluice.Tests.State;
using Sluice.Time;
using Xunit.Abstractions;

namespace Sluice.Tests.ProcessFunctions;

/// <summary>
/// A keyed process function with value, list and map state, event-time timers (registered many times, some deleted),
/// processing-time timers (one deleted by another) and late records, through a real cluster of 1-3 silos, compared
/// exactly with <see cref="ProcessOracle"/>: every output and its timestamp, and the late side output. Random keys,
/// partitions, out-of-orderness, bucket size, key groups, buffer and source batch sizes, appended in random chunks
/// while the pipeline runs (<see cref="ProcessFeed"/>). Runs once per state backend. Seeds are random per run and
/// printed; <c>SLUICE_PROPERTY_SEED=&lt;seed&gt;</c> replays a failure.
/// </summary>
public abstract class ProcessPropertyTests(ClusterFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    protected abstract int Cases { get; }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public async Task Keyed_process_function_output_equals_the_oracle_on_random_out_of_order_streams_with_late_records(StateBackend backend)
    {
        foreach (var seed in PropertySeeds.For(Cases))
        {
            await RunAsync(ProcessFeed.Generate(seed), backend);
        }
    }

    private async Task RunAsync(ProcessFeed feed, StateBackend backend)
    {
        var context = $"{fixture.Silos} silo(s), {backend}, {feed}";
        output.WriteLine(context);
        var id = $"process-prop-{Guid.NewGuid():N}";
        var main = new CollectingSink<Tracked>("tracked", feed.SinkParallelism);
        var late = new CollectingSink<Event>("late", 1);
        var pipeline = Pipeline.Create(id, o =>
        {
            o.MaxParallelism = feed.MaxParallelism;
            o.BufferSize = feed.BufferSize;
            o.SourceBatchSize = feed.SourceBatchSize;
            o.WatermarkInterval = TimeSpan.FromMilliseconds(20);
            o.StateBackend = backend;
        });
        var tracked = pipeline.From(feed.Source)
            .WithTimestamps(e => e.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(feed.Bound)))
            .KeyBy(e => e.Key)
            .Process(feed.NewFunction, "tracker");
        tracked.SinkTo(main);
        tracked.SideOutput(TrackerFunction.Late).SinkTo(late);
        fixture.Cluster.Register(pipeline);
        var status = async () => SluiceCluster.Describe(await fixture.Cluster.StatusAsync(id));

        var pace = new Random(feed.Seed ^ 0x9ace);
        while (feed.HasMore)
        {
            feed.AppendChunk();
            feed.OpenGates(main.Values);
            if (pace.Next(3) == 0)
            {
                await Task.Delay(pace.Next(1, 20));
            }
        }

        feed.Flush();
        await WaitAsync(() => { feed.OpenGates(main.Values); return feed.AllGatesOpen; }, () => $"every bucket to fire after the flush ({feed.Unopened})", context, status);
        var expected = feed.Oracle();
        if (!await TryWaitAsync(() => main.Values.Count(v => v.Kind == "ping") >= expected.Pings))
        {
            ProcessOracle.AssertSameMultiset(expected.Main.Where(m => m.Value.Kind == "ping"), main.Records.Where(r => r.Value.Kind == "ping"), $"pings after {Timeout}", context);
        }

        // Long enough for any fallback whose deletion was lost to fire (they are due FallbackDelay after their ping).
        await Task.Delay(TimeSpan.FromMilliseconds((3 * feed.FallbackDelay) + 100));
        feed.Source.CompleteAll();
        try
        {
            await Task.WhenAll(main.Completion, late.Completion).WaitAsync(Timeout);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{context}: the pipeline did not finish within {Timeout}; {await status()}");
        }

        output.WriteLine($"  {feed.OnTimeCount} on-time and {feed.LateCount} late records; {expected.Main.Count} outputs: "
            + string.Join(", ", expected.Main.GroupBy(m => m.Value.Kind).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key}")));
        ProcessOracle.AssertSameMultiset(expected.Main, main.Records, "main output (value, timestamp)", context);
        ProcessOracle.AssertSameMultiset(expected.Late.Select(e => (e, e.Ts)), late.Records, "late side output (record, timestamp)", context);
    }

    private static async Task WaitAsync(Func<bool> condition, Func<string> what, string context, Func<Task<string>> status)
    {
        if (!await TryWaitAsync(condition))
        {
            Assert.Fail($"{context}: waited {Timeout} for {what()}; {await status()}");
        }
    }

    private static async Task<bool> TryWaitAsync(Func<bool> condition)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            if (cts.IsCancellationRequested)
            {
                return false;
            }

            await Task.Delay(10);
        }

        return true;
    }
}

public sealed class Process_properties_on_one_silo(OneSiloCluster fixture, ITestOutputHelper output)
    : ProcessPropertyTests(fixture, output), IClassFixture<OneSiloCluster>
{
    protected override int Cases => 4;
}

public sealed class Process_properties_on_two_silos(TwoSiloCluster fixture, ITestOutputHelper output)
    : ProcessPropertyTests(fixture, output), IClassFixture<TwoSiloCluster>
{
    protected override int Cases => 3;
}

public sealed class Process_properties_on_three_silos(ThreeSiloCluster fixture, ITestOutputHelper output)
    : ProcessPropertyTests(fixture, output), IClassFixture<ThreeSiloCluster>
{
    protected override int Cases => 3;
}
