using Orleans.Configuration;
using Sluice.Functions;
using Sluice.Grains;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Storage;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Sluice.Time;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.Recovery;

/// <summary>What the recovery tests share: checkpointed clusters that detect dead silos fast, the windowed-sum pipeline, waits and the exact oracle check.</summary>
internal static class RecoveryScenario
{
    public static Task<SluiceCluster> StartAsync(string root, int silos, Action<ISiloBuilder>? configure = null) =>
        SluiceCluster.StartAsync(silos, silo =>
        {
            silo.Services.AddSluiceCheckpointStorage(o =>
            {
                o.Kind = CheckpointStoreKinds.FileSystem;
                o.FileSystem.Root = root;
            });
            // Declare a killed silo dead within seconds (Orleans' defaults take much longer).
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 2;
                o.NumVotesForDeathDeclaration = 1;
            });
            configure?.Invoke(silo);
        });

    public static void Checkpointed(PipelineOptions o)
    {
        o.MaxParallelism = 8;
        o.CheckpointInterval = TimeSpan.FromMilliseconds(200);
        o.Restart.InitialBackoff = TimeSpan.FromMilliseconds(200);
    }

    public static Pipeline Define(string id, InMemorySource<Event> source, SinkDefinition<WindowResult> sink, Action<PipelineOptions>? options = null)
    {
        var pipeline = Pipeline.Create(id, o =>
        {
            Checkpointed(o);
            options?.Invoke(o);
        });
        pipeline.From(source)
            .WithTimestamps(e => e.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(40)))
            .KeyBy(e => e.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(100)))
            .Aggregate(Aggregates.Sum<Event>(e => e.Value), (key, window, sum) => new WindowResult(key, window.Start, window.End, sum), "sums")
            .SinkTo(sink);
        return pipeline;
    }

    public static int Completed(IReadOnlyList<CheckpointInfo> history) => history.Count(c => c.State == CheckpointState.Completed);

    public static Task AppendUntilAsync(OutOfOrderEventFeed input, Func<Task<bool>> done, string what) =>
        AppendUntilAsync(rounds => input.Append(rounds), done, what);

    /// <summary>Appends a round of input every 100 ms until <paramref name="done"/> holds; throws after 60 s.</summary>
    public static async Task AppendUntilAsync(Action<int> append, Func<Task<bool>> done, string what)
    {
        for (var i = 0; i < 600; i++)
        {
            if (await done())
            {
                return;
            }

            append(1);
            await Task.Delay(100);
        }

        throw new TimeoutException($"{what} did not happen within 60 s");
    }

    /// <summary>
    /// Appends rounds until 3 checkpoints completed; with <paramref name="crash"/>, crashes the last secondary silo and
    /// appends until the pipeline recovered (a checkpoint completed after the restart). Returns the pipeline's coordinator.
    /// </summary>
    public static async Task<ICheckpointCoordinatorGrain> CheckpointThenCrashAsync(
        SluiceCluster cluster, string pipelineId, Action<int> append, bool crash, Func<int> committedEpochs, ITestOutputHelper output)
    {
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>(pipelineId);
        await AppendUntilAsync(append, async () => Completed(await coordinator.GetHistoryAsync()) >= 3, "3 checkpoints");
        if (crash)
        {
            var victim = cluster.Cluster.SecondarySilos[^1];
            output.WriteLine($"killing {victim.SiloAddress} after {committedEpochs()} committed epochs");
            await cluster.CrashSiloAsync(victim);
            await AppendUntilAsync(append, async () => (await coordinator.GetRecoveryAsync()).RecoveryMilliseconds.Count > 0, "recovery (a checkpoint after the restart)");
        }

        return coordinator;
    }

    public static Task WaitForAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        WaitForAsync(() => Task.FromResult(condition()), timeout, what);

    public static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!await condition())
        {
            if (cts.IsCancellationRequested)
            {
                throw new TimeoutException($"{what} did not happen within {timeout}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Exactly once: every window committed once, with the oracle's value, none missing.</summary>
    public static void AssertEqualsOracleExactly(Dictionary<(string Key, long Start, long End), long> expected, List<WindowResult> committed, ITestOutputHelper output)
    {
        var duplicates = committed.GroupBy(r => (r.Key, r.Start, r.End)).Where(g => g.Count() > 1).ToList();
        output.WriteLine($"{committed.Count} committed, {expected.Count} expected: {duplicates.Count} duplicated");
        Assert.True(duplicates.Count == 0, $"{duplicates.Count} windows committed twice, e.g. {string.Join(", ", duplicates.Take(5).Select(g => g.Key))}");
        AssertRightAndComplete(expected, committed, committed);
    }

    /// <summary>At least once: every result in <paramref name="checkedResults"/> has the oracle's value and every window is among <paramref name="allResults"/>.</summary>
    public static void AssertRightAndComplete(Dictionary<(string Key, long Start, long End), long> expected, IEnumerable<WindowResult> checkedResults, IEnumerable<WindowResult> allResults)
    {
        var wrong = checkedResults.Where(r => expected.GetValueOrDefault((r.Key, r.Start, r.End), -1) != r.Value).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} results differ from the oracle, e.g. {string.Join(", ", wrong.Take(5))}");
        var missing = expected.Keys.Except(allResults.Select(r => (r.Key, r.Start, r.End))).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} windows never emitted, e.g. {string.Join(", ", missing.Take(5))}");
    }
}
