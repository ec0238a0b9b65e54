using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Sluice.Checkpointing;
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

namespace Sluice.Tests.Checkpointing;

/// <summary>
/// The restore scenario shared by the restore tests: a keyed 100 ms tumbling-window sum over <see cref="OutOfOrderEventFeed"/>
/// checkpoints on a first cluster, which then goes away with its in-memory state; a second cluster with the same
/// store resumes from the newest complete checkpoint and runs the input to its end.
/// </summary>
internal static class WindowSumsRestoreScenario
{
    public const long WindowSize = 100;

    public static Pipeline Define(string pipelineId, InMemorySource<Event> source, CollectingSink<WindowResult> sink, TimeSpan? checkpointInterval = null)
    {
        var pipeline = Pipeline.Create(pipelineId, o =>
        {
            o.MaxParallelism = 8;
            o.CheckpointInterval = checkpointInterval ?? TimeSpan.FromMilliseconds(200);
        });
        pipeline.From(source)
            .WithTimestamps(e => e.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(40)))
            .KeyBy(e => e.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(WindowSize)))
            .Aggregate(Aggregates.Sum<Event>(e => e.Value), (key, window, sum) => new WindowResult(key, window.Start, window.End, sum), "sums")
            .SinkTo(sink);
        return pipeline;
    }

    public static Dictionary<(string Key, long Start, long End), long> Oracle(IEnumerable<Event> events) =>
        WindowOracle.Tumbling(events, WindowSize, 0, AggregateKind.Sum).ToDictionary(r => (r.Key, r.Start, r.End), r => r.Value);

    /// <summary>Runs both clusters; <paramref name="startCluster"/> starts a cluster whose silos use the store under test.</summary>
    public static async Task<RestoreRun> RunAsync(Func<Task<SluiceCluster>> startCluster, string pipelineId, int seed, ITestOutputHelper output)
    {
        var feed = new OutOfOrderEventFeed(seed);

        // First cluster: runs with checkpoints, then goes away with its in-memory state.
        var firstSink = new CollectingSink<WindowResult>("first");
        long lastSeenCompleted;
        await using (var first = await startCluster())
        {
            first.Register(Define(pipelineId, feed.Source, firstSink));
            var coordinator = first.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>(pipelineId);
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (!patience.IsCancellationRequested && Completed(await coordinator.GetHistoryAsync()) < 3)
            {
                feed.Append(2);
                await Task.Delay(100);
            }

            var history = await coordinator.GetHistoryAsync();
            foreach (var c in history)
            {
                output.WriteLine($"first cluster: checkpoint {c.Id} {c.State} in {c.DurationMilliseconds} ms, {c.Bytes} bytes {c.Failure}");
            }

            lastSeenCompleted = history.Where(c => c.State == CheckpointState.Completed).Select(c => c.Id).DefaultIfEmpty().Max();
            Assert.True(lastSeenCompleted > 0, "a checkpoint should complete on the first cluster");
            feed.Append(5); // records after the checkpoint that the first cluster may or may not see before it stops
            output.WriteLine(SluiceCluster.Describe(await first.StatusAsync(pipelineId)));
        }

        output.WriteLine($"first cluster stopped after checkpoint {lastSeenCompleted}; {firstSink.Count} results emitted");

        // Second cluster: same pipeline, same store; restores state and seeks the sources.
        var secondSink = new CollectingSink<WindowResult>("second");
        await using var second = await startCluster();
        second.Register(Define(pipelineId, feed.Source, secondSink));
        feed.Append(10);
        feed.Source.CompleteAll();
        await secondSink.Completion.WaitAsync(TimeSpan.FromSeconds(120));

        // Sources report about once a second: wait for the report that shows every partition at its end.
        var status = await second.WaitForStatusAsync(
            pipelineId, s => s.Sources.Count == OutOfOrderEventFeed.DefaultPartitions && s.Sources.All(p => p.Ended), TimeSpan.FromSeconds(30), "every source partition ended");
        var recovery = await second.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>(pipelineId).GetRecoveryAsync();
        CheckpointMetadata? restored = null;
        if (recovery.RestoredFrom > 0)
        {
            var store = second.Cluster.Silos.OfType<InProcessSiloHandle>().First().SiloHost.Services.GetRequiredService<ICheckpointStore>();
            var bytes = await store.GetAsync(CheckpointLayout.Metadata(pipelineId, recovery.RestoredFrom));
            restored = bytes is null ? null : JsonSerializer.Deserialize(bytes, CheckpointJson.Default.CheckpointMetadata);
        }

        output.WriteLine($"second cluster: attempt {recovery.Attempt} restored from checkpoint {recovery.RestoredFrom}; {secondSink.Count} results; {SluiceCluster.Describe(status)}");
        return new RestoreRun(feed, lastSeenCompleted, firstSink.Values, secondSink.Values, recovery, restored, status);
    }

    /// <summary>Every emitted window (from either cluster) equals the oracle and no window of the oracle is missing.</summary>
    public static void AssertEveryWindowEqualsTheOracle(RestoreRun run, ITestOutputHelper output)
    {
        var expected = Oracle(run.Feed.All);
        var emitted = run.First.Concat(run.Second).ToList();
        var wrong = emitted.Where(r => expected.GetValueOrDefault((r.Key, r.Start, r.End), -1) != r.Value).ToList();
        foreach (var r in wrong.Take(10))
        {
            output.WriteLine($"wrong {r} expected {expected.GetValueOrDefault((r.Key, r.Start, r.End), -1)} from {(run.First.Contains(r) ? "first" : "second")}");
        }

        Assert.True(wrong.Count == 0, $"{wrong.Count} window results differ from the oracle, e.g. {string.Join(", ", wrong.Take(5))}");
        var missing = expected.Keys.Except(emitted.Select(r => (r.Key, r.Start, r.End))).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} windows were never emitted, e.g. {string.Join(", ", missing.Take(5))}");
    }

    /// <summary>
    /// Windows holding events on both sides of the checkpoint's cut (the source positions it recorded): their sum
    /// is only right if the state from before the cut was restored.
    /// </summary>
    public static HashSet<(string Key, long Start, long End)> WindowsSpanningTheCut(OutOfOrderEventFeed feed, CheckpointMetadata checkpoint)
    {
        var before = new HashSet<(string, long, long)>();
        var after = new HashSet<(string, long, long)>();
        foreach (var position in checkpoint.Sources)
        {
            var events = feed.Partition(position.Partition);
            for (var i = 0; i < events.Count; i++)
            {
                var start = WindowOracle.LastWindowStart(events[i].Ts, 0, WindowSize);
                (i < position.Position ? before : after).Add((events[i].Key, start, start + WindowSize));
            }
        }

        before.IntersectWith(after);
        return before;
    }

    private static int Completed(IReadOnlyList<CheckpointInfo> history) => history.Count(c => c.State == CheckpointState.Completed);
}

/// <summary>What a restore run produced: the input, each cluster's results, and what the second cluster restored.</summary>
internal sealed record RestoreRun(
    OutOfOrderEventFeed Feed,
    long LastCompletedSeenOnFirst,
    IReadOnlyList<WindowResult> First,
    IReadOnlyList<WindowResult> Second,
    RecoveryInfo SecondRecovery,
    CheckpointMetadata? Restored,
    PipelineStatus SecondStatus);
