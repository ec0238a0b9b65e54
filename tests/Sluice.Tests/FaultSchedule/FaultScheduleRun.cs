using System.Diagnostics;
using System.Globalization;
using Sluice.Functions;
using Sluice.Grains;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Sluice.Tests.Recovery;
using Sluice.Time;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.FaultSchedule;

/// <summary>What one schedule did and whether the committed output equalled the oracle exactly.</summary>
internal sealed record FaultScheduleResult(
    FaultSchedule Schedule,
    string? Failure,
    IReadOnlyList<string> Timeline,
    long Attempt,
    int Restarts,
    int Handovers,
    int CheckpointsCompleted,
    int CheckpointsFailed,
    string Injected,
    double Seconds)
{
    public bool Passed => Failure is null;

    /// <summary>One line for SLUICE_FAULT_LOG: tab-separated key=value pairs, so a soak's results can be summarised with awk or grep.</summary>
    public string LogLine() =>
        string.Join('\t',
            string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:O}"),
            $"seed={Schedule.Seed}",
            $"result={(Passed ? "pass" : "FAIL")}",
            string.Create(CultureInfo.InvariantCulture, $"seconds={Seconds:0.0}"),
            $"silos={Schedule.Silos}",
            $"stage={Schedule.Stage}",
            $"sink={(Schedule.FileSink ? "file" : "committing")}",
            "faults=" + string.Join(",", Schedule.Faults.GroupBy(f => f.Kind).OrderBy(g => g.Key).Select(g => $"{g.Key}:{g.Count()}")),
            $"attempt={Attempt}",
            $"restarts={Restarts}",
            $"handovers={Handovers}",
            $"checkpoints={CheckpointsCompleted}",
            $"checkpointsFailed={CheckpointsFailed}",
            $"injected={Injected}",
            "failure=" + (Failure ?? "-").ReplaceLineEndings(" "));
}

/// <summary>
/// Runs one <see cref="FaultSchedule"/>: a checkpointed keyed pipeline (4 source partitions -> KeyBy -> tumbling or
/// sliding window sum, or the same tumbling sum in a keyed process function (<see cref="ProcessWindowSum"/>), or of the pairs
/// of an interval, window or regular join (<see cref="IntervalJoinPairs"/>, <see cref="WindowJoinPairs"/>,
/// <see cref="RegularJoinPairs"/>), or session sums (<see cref="SessionSums"/>), or sliding count
/// windows with an evictor and per-key global state (<see cref="CountWindowSums"/>) -> 2 exactly-once sink tasks: part files, or the in-memory transactional test sink) on an
/// in-process cluster whose silos carry the fault filters and store; input is appended every 100 ms while the faults
/// happen, then every fault heals, the input completes and the committed output must equal the brute-force oracle
/// exactly, with the pipeline not FAILED.
/// </summary>
internal static class FaultScheduleRun
{
    private const string PipelineId = "faults";
    private const int Partitions = 4;
    private const int WindowTasks = 8;
    private const int SinkTasks = 2;
    private static readonly TimeSpan CompletionTimeout = TimeSpan.FromSeconds(45);

    public static async Task<FaultScheduleResult> RunAsync(FaultSchedule schedule, ITestOutputHelper output)
    {
        var clock = Stopwatch.StartNew();
        var root = Directory.CreateTempSubdirectory("sluice-faults-").FullName;
        var faults = new FaultInjection(schedule.Seed);
        var input = new OutOfOrderEventFeed(schedule.Seed, Partitions, partitionLocalKeys: schedule.Stage == FaultStage.CountWindow);
        IFaultSink sink = schedule.FileSink ? new FileFaultSink(Path.Combine(root, "output"), SinkTasks) : new CommittingFaultSink(SinkTasks);
        FaultActions? actions = null;
        string? failure = null;
        RecoveryInfo? recovery = null;
        IReadOnlyList<CheckpointInfo> history = [];
        try
        {
            await using var cluster = await RecoveryScenario.StartAsync(root, schedule.Silos, silo => faults.Install(silo, root));
            cluster.Register(Define(new ThrottledSource<Event>(input.Source, faults), sink.Definition, schedule.Stage));
            var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>(PipelineId);
            actions = new FaultActions(cluster, PipelineId, WindowTasks, SinkTasks, sink, faults);
            actions.Note($"cluster of {schedule.Silos} started");
            await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 1, "a first checkpoint");
            actions.Note("first checkpoint completed; faults begin");

            var phase = Stopwatch.StartNew();
            var next = 0;
            while (phase.ElapsedMilliseconds < schedule.PhaseMs)
            {
                for (; next < schedule.Faults.Count && schedule.Faults[next].AtMs <= phase.ElapsedMilliseconds; next++)
                {
                    actions.Start(schedule.Faults[next]);
                }

                input.Append(rounds: 1);
                await Task.Delay(100);
            }

            await actions.SettleAsync();
            faults.Heal();
            sink.Heal();
            actions.Note("healed; input completes");
            input.Append(rounds: 3);
            input.Source.CompleteAll();
            var expected = Oracle(input, schedule.Stage);
            (failure, recovery, history) = await AwaitCommittedAsync(cluster, coordinator, sink, expected, actions);
        }
        catch (Exception ex)
        {
            failure ??= $"{ex.GetType().Name}: {ex.Message}";
        }
        finally
        {
            TryDelete(root);
        }

        var result = new FaultScheduleResult(
            schedule,
            failure,
            actions?.Timeline ?? [],
            recovery?.Attempt ?? 0,
            recovery?.Restarts ?? 0,
            recovery?.SourceHandovers ?? 0,
            history.Count(c => c.State == CheckpointState.Completed),
            history.Count(c => c.State == CheckpointState.Failed),
            $"crash:{actions?.Crashes},stop:{actions?.Stops},join:{actions?.Joins},moveRequests:{actions?.MigrationRequests},"
            + $"duplicates:{faults.Duplicates},dropped:{faults.Dropped},storeFailures:{faults.StoreFailures},failedPrepares:{sink.PreparesFailed},failedCommits:{sink.CommitsFailed}",
            clock.Elapsed.TotalSeconds);
        Report(result, output);
        return result;
    }

    private static Pipeline Define(SourceDefinition<Event> source, SinkDefinition<WindowResult> sink, FaultStage stage)
    {
        var pipeline = Pipeline.Create(PipelineId, o =>
        {
            RecoveryScenario.Checkpointed(o);
            // A checkpoint whose acknowledgement was lost fails after this, and the next one starts (the default is 2 min).
            o.CheckpointTimeout = TimeSpan.FromSeconds(3);
        });
        var events = pipeline.From(source)
            .WithTimestamps(e => e.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(40)));
        var keyed = stage switch
        {
            FaultStage.IntervalJoin => IntervalJoinPairs.Join(events),
            FaultStage.WindowJoin => WindowJoinPairs.Join(events),
            _ => events.KeyBy(e => e.Key),
        };
        var results = stage switch
        {
            FaultStage.ProcessFunction => keyed.Process(() => new ProcessWindowSum(100), "sums"),
            FaultStage.RegularJoin => RegularJoinPairs.Define(events),
            FaultStage.SessionWindow => SessionSums.Define(keyed),
            FaultStage.CountWindow => CountWindowSums.Define(keyed),
            _ => keyed
                .Window(stage == FaultStage.SlidingWindow ? Sliding.Of(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(50)) : Tumbling.Of(TimeSpan.FromMilliseconds(100)))
                .Aggregate(Aggregates.Sum<Event>(e => e.Value), (key, w, sum) => new WindowResult(key, w.Start, w.End, sum), "sums"),
        };
        results.SinkTo(sink);
        return pipeline;
    }

    private static Dictionary<(string Key, long Start, long End), long> Oracle(OutOfOrderEventFeed input, FaultStage stage) => stage switch
    {
        FaultStage.SlidingWindow => WindowOracle.Sliding(input.All.ToList(), 100, 50, 0, AggregateKind.Sum).ToDictionary(r => (r.Key, r.Start, r.End), r => r.Value),
        FaultStage.IntervalJoin => WindowOracle.Tumbling(IntervalJoinPairs.Oracle(input.All.ToList()), 100, 0, AggregateKind.Sum).ToDictionary(r => (r.Key, r.Start, r.End), r => r.Value),
        FaultStage.WindowJoin => WindowOracle.Tumbling(WindowJoinPairs.Oracle(input.All.ToList()), 100, 0, AggregateKind.Sum).ToDictionary(r => (r.Key, r.Start, r.End), r => r.Value),
        FaultStage.RegularJoin => WindowOracle.Tumbling(RegularJoinPairs.Oracle(input.All.ToList()), 100, 0, AggregateKind.Sum).ToDictionary(r => (r.Key, r.Start, r.End), r => r.Value),
        FaultStage.SessionWindow => SessionSums.Oracle(input.All),
        FaultStage.CountWindow => CountWindowSums.Oracle(input),
        _ => input.Oracle(),
    };

    /// <summary>
    /// Waits until every expected window is committed (or the pipeline is FAILED), then until the pipeline finished (or
    /// briefly), so that a late duplicate commit is seen; then compares the committed output with the oracle.
    /// </summary>
    private static async Task<(string? Failure, RecoveryInfo? Recovery, IReadOnlyList<CheckpointInfo> History)> AwaitCommittedAsync(
        SluiceCluster cluster,
        ICheckpointCoordinatorGrain coordinator,
        IFaultSink sink,
        Dictionary<(string Key, long Start, long End), long> expected,
        FaultActions actions)
    {
        var deadline = Stopwatch.StartNew();
        RecoveryInfo? recovery = null;
        var polls = 0;
        while (deadline.Elapsed < CompletionTimeout)
        {
            recovery = await TryAsync(coordinator.GetRecoveryAsync) ?? recovery;
            if (recovery?.Failed == true)
            {
                break;
            }

            var committed = (await TryAsync(sink.CommittedAsync) ?? []).Select(r => (r.Key, r.Start, r.End)).ToHashSet();
            if (expected.Keys.All(committed.Contains))
            {
                break;
            }

            if (++polls % 10 == 0)
            {
                var newest = await TryAsync(coordinator.GetHistoryAsync) is { Count: > 0 } h ? h[^1] : null;
                actions.Note($"waiting: {committed.Count} of {expected.Count} committed; attempt {recovery?.Attempt}{(recovery?.Restarting == true ? " restarting" : "")}; "
                    + $"newest checkpoint {newest?.Id} {newest?.State} {newest?.Failure}; last restart: {recovery?.LastRestartReason}; "
                    + SluiceCluster.Describe(await TryAsync(() => cluster.StatusAsync(PipelineId))));
            }

            await Task.Delay(200);
        }

        actions.Note($"{(await TryAsync(sink.CommittedAsync))?.Count} results committed of {expected.Count} expected");
        await Task.Delay(500); // a duplicate epoch committed late still shows up
        recovery = await TryAsync(coordinator.GetRecoveryAsync) ?? recovery;
        var history = await TryAsync(coordinator.GetHistoryAsync) ?? [];
        if (recovery?.Failed == true)
        {
            return ($"the pipeline is FAILED: {recovery.FailureReason}", recovery, history);
        }

        try
        {
            RecoveryScenario.AssertEqualsOracleExactly(expected, await sink.CommittedAsync(), NullOutput.Instance);
            return (null, recovery, history);
        }
        catch (Exception ex)
        {
            return (ex.Message, recovery, history);
        }
    }

    private static async Task<T?> TryAsync<T>(Func<Task<T>> call)
        where T : class
    {
        try
        {
            return await call();
        }
        catch (Exception)
        {
            return null; // the grain may be moving or on a silo that just died: ask again later
        }
    }

    private static void Report(FaultScheduleResult result, ITestOutputHelper output)
    {
        var s = result.Schedule;
        output.WriteLine($"{(result.Passed ? "passed" : "FAILED")} in {result.Seconds:0.0} s: {s.Describe()}");
        output.WriteLine($"  attempt {result.Attempt}, restarts {result.Restarts}, handovers {result.Handovers}, checkpoints {result.CheckpointsCompleted} completed / {result.CheckpointsFailed} failed (recent history), injected {result.Injected}");
        if (!result.Passed)
        {
            output.WriteLine($"  failure: {result.Failure}");
            output.WriteLine($"  replay: {s.ReplayCommand(FaultScheduleSettings.FromEnvironment().Excluded)}");
        }

        foreach (var line in result.Timeline)
        {
            output.WriteLine($"  {line}");
        }
    }

    private static void TryDelete(string root)
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
            // a silo still finishing an upload: the temp folder is left behind
        }
    }

    private sealed class NullOutput : ITestOutputHelper
    {
        public static readonly NullOutput Instance = new();

        public void WriteLine(string message)
        {
        }

        public void WriteLine(string format, params object[] args)
        {
        }
    }
}
