using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Sluice.Checkpointing;
using Sluice.Functions;
using Sluice.Grains;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.State.Snapshots;
using Sluice.Storage;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Sluice.Time;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.Checkpointing;

public sealed class CheckpointTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-checkpoints-").FullName;

    [Fact]
    public async Task Aligned_checkpoints_commit_every_position_and_state_and_leave_results_equal_to_the_oracle()
    {
        await using var cluster = await SluiceCluster.StartWithCheckpointsAsync(1, _root);
        var source = new InMemorySource<Event>("in", 3);
        var sink = new CollectingSink<WindowResult>("out");
        var pipeline = Pipeline.Create("checkpointed", o =>
        {
            o.MaxParallelism = 8;
            o.CheckpointInterval = TimeSpan.FromMilliseconds(200);
            o.RetainedCheckpoints = 2;
        });
        pipeline.From(source)
            .WithTimestamps(e => e.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(50)))
            .KeyBy(e => e.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(100)))
            .Aggregate(Aggregates.Sum<Event>(e => e.Value), (key, window, sum) => new WindowResult(key, window.Start, window.End, sum), "sums")
            .SinkTo(sink);
        cluster.Register(pipeline);

        var random = new Random(3);
        var events = new List<Event>();
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("checkpointed");
        var time = new long[3];
        for (var round = 0; round < 40 && Completed(await coordinator.GetHistoryAsync()) < 4; round++)
        {
            for (var p = 0; p < 3; p++)
            {
                for (var i = 0; i < 25; i++)
                {
                    time[p] += random.Next(0, 5);
                    var e = new Event($"k{random.Next(12)}", time[p] - random.Next(0, 50), random.Next(1, 5));
                    events.Add(e);
                    source.Add(p, e, e.Ts);
                }
            }

            await Task.Delay(150);
        }

        var history = await coordinator.GetHistoryAsync();
        foreach (var c in history)
        {
            output.WriteLine($"checkpoint {c.Id}: {c.State} in {c.DurationMilliseconds} ms, {c.Bytes} bytes, alignment {c.MaxAlignmentMilliseconds} ms {c.Failure}");
        }

        Assert.True(Completed(history) >= 4, "four checkpoints should complete while records flow");
        source.CompleteAll();
        await sink.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        WindowOracle.AssertSameMultiset(WindowOracle.Tumbling(events, 100, 0, AggregateKind.Sum), sink.Values.ToList(), "with checkpoints running");

        var store = cluster.Cluster.Silos.OfType<Orleans.TestingHost.InProcessSiloHandle>().First().SiloHost.Services.GetRequiredService<ICheckpointStore>();
        var latest = history.Where(c => c.State == CheckpointState.Completed).Max(c => c.Id);
        var metadata = JsonSerializer.Deserialize(
            (await store.GetAsync(CheckpointLayout.Metadata("checkpointed", latest)))!, CheckpointJson.Default.CheckpointMetadata)!;
        Assert.Equal(latest, metadata.CheckpointId);
        Assert.Equal(3, metadata.Sources.Count);
        Assert.All(metadata.Sources, s => Assert.InRange(s.Position, 0, events.Count));
        Assert.Equal(8 + 1, metadata.Tasks.Count); // 8 key groups and the sink task
        foreach (var task in metadata.Tasks.Where(t => t.BlobPath is not null))
        {
            var blob = await store.GetAsync(task.BlobPath!);
            Assert.NotNull(blob);
            Assert.Equal(task.Bytes, blob!.Length);
            SnapshotEnvelope.Unwrap(blob, $"window:sums|key:{typeof(string).FullName}|acc:{typeof(long).FullName}|layout:2", task.BlobPath!);
        }

        // Retention keeps the last two completed checkpoints.
        var folders = (await store.ListAsync("checkpointed/chk-")).Select(p => p.Split('/')[1]).Distinct().ToList();
        Assert.True(folders.Count <= 3, $"retained: {string.Join(", ", folders)}"); // two kept, plus at most one in progress
        Assert.Contains($"chk-{latest}", folders);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static int Completed(IReadOnlyList<CheckpointInfo> history) => history.Count(c => c.State == CheckpointState.Completed);
}
