using Microsoft.Extensions.DependencyInjection;
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

public sealed class RestoreTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-restore-").FullName;

    [Fact]
    public async Task A_new_cluster_resumes_from_the_last_checkpoint_and_every_window_equals_the_oracle()
    {
        var source = new InMemorySource<Event>("in", 3);
        var random = new Random(21);
        var events = new List<Event>();
        var time = new long[3];
        void Append(int rounds)
        {
            for (var round = 0; round < rounds; round++)
            {
                for (var p = 0; p < 3; p++)
                {
                    for (var i = 0; i < 20; i++)
                    {
                        time[p] += random.Next(0, 6);
                        var e = new Event($"k{random.Next(10)}", time[p] - random.Next(0, 40), random.Next(1, 5));
                        events.Add(e);
                        source.Add(p, e, e.Ts);
                    }
                }
            }
        }

        // First cluster: runs with checkpoints, then goes away with its in-memory state.
        var firstSink = new CollectingSink<WindowResult>("first");
        long checkpoint;
        await using (var first = await StartAsync())
        {
            first.Register(Define(source, firstSink));
            var coordinator = first.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("resumable");
            for (var i = 0; i < 60 && (await coordinator.GetHistoryAsync()).Count(c => c.State == CheckpointState.Completed) < 3; i++)
            {
                Append(2);
                await Task.Delay(100);
            }

            var history = await coordinator.GetHistoryAsync();
            checkpoint = history.Where(c => c.State == CheckpointState.Completed).Select(c => c.Id).DefaultIfEmpty().Max();
            Assert.True(checkpoint > 0, "a checkpoint should complete on the first cluster");
            Append(5); // records after the checkpoint that the first cluster may or may not see before it stops
            output.WriteLine(SluiceCluster.Describe(await first.StatusAsync("resumable")));
        }

        output.WriteLine($"first cluster stopped after checkpoint {checkpoint}; {firstSink.Count} results emitted");

        // Second cluster: same pipeline, same store; restores state and seeks the sources.
        var secondSink = new CollectingSink<WindowResult>("second");
        await using (var second = await StartAsync())
        {
            second.Register(Define(source, secondSink));
            Append(10);
            source.CompleteAll();
            await secondSink.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        }

        var expected = WindowOracle.Tumbling(events, 100, 0, AggregateKind.Sum).ToDictionary(r => (r.Key, r.Start, r.End), r => r.Value);
        var emitted = firstSink.Values.Concat(secondSink.Values).ToList();
        var wrong = emitted.Where(r => expected.GetValueOrDefault((r.Key, r.Start, r.End), -1) != r.Value).ToList();
        foreach (var r in wrong.Take(10))
        {
            output.WriteLine($"wrong {r} expected {expected.GetValueOrDefault((r.Key, r.Start, r.End), -1)} from {(firstSink.Values.Contains(r) ? "first" : "second")}");
        }
        Assert.True(wrong.Count == 0, $"{wrong.Count} window results differ from the oracle, e.g. {string.Join(", ", wrong.Take(5))}");
        var missing = expected.Keys.Except(emitted.Select(r => (r.Key, r.Start, r.End))).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} windows were never emitted, e.g. {string.Join(", ", missing.Take(5))}");
        Assert.NotEmpty(secondSink.Values);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private Task<SluiceCluster> StartAsync() => SluiceCluster.StartWithCheckpointsAsync(1, _root);

    private static Pipeline Define(InMemorySource<Event> source, CollectingSink<WindowResult> sink)
    {
        var pipeline = Pipeline.Create("resumable", o =>
        {
            o.MaxParallelism = 8;
            o.CheckpointInterval = TimeSpan.FromMilliseconds(200);
        });
        pipeline.From(source)
            .WithTimestamps(e => e.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(40)))
            .KeyBy(e => e.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(100)))
            .Aggregate(Aggregates.Sum<Event>(e => e.Value), (key, window, sum) => new WindowResult(key, window.Start, window.End, sum), "sums")
            .SinkTo(sink);
        return pipeline;
    }
}
