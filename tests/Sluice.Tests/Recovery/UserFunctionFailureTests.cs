using System.Collections.Concurrent;
using Sluice.Functions;
using Sluice.Grains;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Tests.Properties;
using Sluice.Time;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.Recovery;

/// <summary>
/// A throwing user function under each <see cref="ErrorPolicy"/> on real in-process silos: <see cref="ErrorPolicy.Fail"/>
/// (the default) restarts the pipeline from its last checkpoint and loses nothing; past the restart limit it is FAILED
/// with the exception's message; <see cref="ErrorPolicy.SkipAndCount"/> drops and counts the record, with no restart.
/// </summary>
public sealed class UserFunctionFailureTests(ITestOutputHelper output) : IDisposable
{
    private const int Partitions = 4;
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-user-failures-").FullName;

    /// <param name="keyedSide">False: a map before the KeyBy throws (in a source partition); true: a map after the window (in a key group).</param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_function_that_throws_once_restarts_the_pipeline_and_the_committed_output_equals_the_oracle(bool keyedSide)
    {
        var id = keyedSide ? "keyed-throws-once" : "throws-once";
        var input = new OutOfOrderEventFeed(seed: keyedSide ? 23 : 21, partitions: Partitions);
        var sink = new CommittingSink<WindowResult>("committed", parallelism: 2);
        var poison = new Poison(throwsAlways: false);
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 2);
        cluster.Register(keyedSide
            ? Define(id, input.Source, sink, mapAfterWindow: r => poison.Check(r.Start, r))
            : Define(id, input.Source, sink, mapBeforeKeyBy: e => poison.Check(e.Ts, e)));
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>(id);
        await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 2, "2 checkpoints");

        poison.Arm(input.All.Max(e => e.Ts) + 300);
        await RecoveryScenario.AppendUntilAsync(input, async () => (await coordinator.GetRecoveryAsync()).RecoveryMilliseconds.Count > 0, "a restart and a checkpoint after it");

        input.Append(rounds: 5);
        input.Source.CompleteAll();
        var expected = input.Oracle();
        await RecoveryScenario.WaitForAsync(() => sink.Committed().Count >= expected.Count, TimeSpan.FromSeconds(60), $"{expected.Count} committed window results");
        var recovery = await coordinator.GetRecoveryAsync();
        output.WriteLine($"attempt {recovery.Attempt}, restarts {recovery.Restarts}: {recovery.LastRestartReason}");

        Assert.Equal(1, poison.Thrown);
        RecoveryScenario.AssertEqualsOracleExactly(expected, sink.Committed(), output);
        Assert.True(recovery.Restarts >= 1, "the failed map should have restarted the pipeline");
        Assert.Contains("poison record", recovery.LastRestartReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_function_that_always_throws_on_a_record_drives_the_pipeline_to_FAILED_past_the_restart_limit()
    {
        var input = new OutOfOrderEventFeed(seed: 25, partitions: Partitions);
        var poison = new Poison(throwsAlways: true);
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 1);
        cluster.Register(Define("always-throws", input.Source, new CollectingSink<WindowResult>("out"), mapBeforeKeyBy: e => poison.Check(e.Ts, e), options: o => o.Restart.MaxRestarts = 2));
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("always-throws");
        await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 1, "a checkpoint");

        poison.Arm(input.All.Max(e => e.Ts) + 300);
        input.Append(rounds: 10);
        var status = await cluster.WaitForStatusAsync("always-throws", s => s.State == PipelineState.Failed, TimeSpan.FromSeconds(60), "FAILED");
        output.WriteLine(status.LastError);

        Assert.StartsWith("2 restarts in a row", status.Recovery!.FailureReason, StringComparison.Ordinal);
        Assert.Contains("InvalidOperationException", status.LastError, StringComparison.Ordinal);
        Assert.Contains("poison record", status.LastError, StringComparison.Ordinal);
        Assert.True(poison.Thrown >= 3, $"the record should have failed each of the 3 attempts, failed {poison.Thrown} times");
    }

    [Fact]
    public async Task With_SkipAndCount_a_throwing_function_drops_and_counts_the_record_and_nothing_restarts()
    {
        var input = new OutOfOrderEventFeed(seed: 27, partitions: Partitions);
        var sink = new CommittingSink<WindowResult>("committed", parallelism: 2);
        var poison = new Poison(throwsAlways: false);
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 1);
        cluster.Register(Define("skips", input.Source, sink, mapBeforeKeyBy: e => poison.Check(e.Ts, e), options: o => o.OnError = ErrorPolicy.SkipAndCount));
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("skips");
        await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 2, "2 checkpoints");

        poison.Arm(input.All.Max(e => e.Ts) + 300);
        await RecoveryScenario.AppendUntilAsync(input, () => Task.FromResult(poison.Thrown > 0), "the poison record");
        input.Append(rounds: 3);
        input.Source.CompleteAll();
        var dropped = poison.Dropped!.Value;
        var kept = input.All.ToList();
        kept.Remove(dropped); // one occurrence: only the record that threw is missing
        var expected = WindowOracle.Tumbling(kept, 100, 0, AggregateKind.Sum).ToDictionary(r => (r.Key, r.Start, r.End), r => r.Value);
        await RecoveryScenario.WaitForAsync(() => sink.Committed().Count >= expected.Count, TimeSpan.FromSeconds(60), $"{expected.Count} committed window results");
        var status = await cluster.WaitForStatusAsync("skips", s => s.InvalidRecords == 1, TimeSpan.FromSeconds(30), "the record counted");

        Assert.Equal(1, poison.Thrown);
        Assert.Equal(0, status.Recovery!.Restarts);
        Assert.Contains("poison record", status.LastError, StringComparison.Ordinal);
        Assert.NotEqual(PipelineState.Failed, status.State);
        RecoveryScenario.AssertEqualsOracleExactly(expected, sink.Committed(), output);
    }

    private static Pipeline Define(
        string id,
        InMemorySource<Event> source,
        SinkDefinition<WindowResult> sink,
        Func<Event, Event>? mapBeforeKeyBy = null,
        Func<WindowResult, WindowResult>? mapAfterWindow = null,
        Action<PipelineOptions>? options = null)
    {
        var pipeline = Pipeline.Create(id, o =>
        {
            RecoveryScenario.Checkpointed(o);
            options?.Invoke(o);
        });
        pipeline.From(source)
            .WithTimestamps(e => e.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(40)))
            .Map(mapBeforeKeyBy ?? (e => e), "check")
            .KeyBy(e => e.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(100)))
            .Aggregate(Aggregates.Sum<Event>(e => e.Value), (key, window, sum) => new WindowResult(key, window.Start, window.End, sum), "sums")
            .Map(mapAfterWindow ?? (r => r), "check-result")
            .SinkTo(sink);
        return pipeline;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>
    /// Throws on the first record whose time reaches the armed threshold (that record, every time it comes again, when it
    /// throws always; otherwise only the first time). Shared by every silo of the in-process cluster.
    /// </summary>
    private sealed class Poison(bool throwsAlways)
    {
        private long _threshold = long.MaxValue;
        private int _thrown;
        private readonly ConcurrentDictionary<int, object> _chosen = new();

        public int Thrown => Volatile.Read(ref _thrown);

        public Event? Dropped { get; private set; }

        public void Arm(long threshold) => Volatile.Write(ref _threshold, threshold);

        public T Check<T>(long time, T value)
            where T : notnull
        {
            if (time < Volatile.Read(ref _threshold))
            {
                return value;
            }

            var chosen = _chosen.GetOrAdd(0, value);
            if (!chosen.Equals(value) || (!throwsAlways && Thrown > 0))
            {
                return value;
            }

            Interlocked.Increment(ref _thrown);
            if (value is Event e)
            {
                Dropped = e;
            }

            throw new InvalidOperationException($"poison record {value}");
        }
    }
}
