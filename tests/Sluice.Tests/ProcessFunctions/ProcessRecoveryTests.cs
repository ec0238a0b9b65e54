using Sluice.Functions;
using Sluice.Grains;
using Sluice.ProcessFunctions;
using Sluice.State;
using Sluice.Tests.Properties;
using Sluice.Tests.Recovery;
using Sluice.Time;
using Xunit.Abstractions;

namespace Sluice.Tests.ProcessFunctions;

/// <summary>A checkpointed keyed process function on real in-process silos, one of them killed mid-run.</summary>
public sealed class ProcessRecoveryTests(ITestOutputHelper output) : IDisposable
{
    private const int Partitions = 4;
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-process-").FullName;

    [Fact]
    public async Task A_process_function_with_state_and_event_time_timers_survives_a_killed_silo_with_output_equal_to_the_oracle()
    {
        var input = new OutOfOrderEventFeed(seed: 17, partitions: Partitions);
        var sink = new CommittingSink<WindowResult>("committed", parallelism: 2);
        var large = new CommittingSink<Event>("large", parallelism: 1);
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 3);
        var pipeline = Pipeline.Create("process-killed", RecoveryScenario.Checkpointed);
        var sums = pipeline.From(input.Source)
            .WithTimestamps(e => e.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(40)))
            .KeyBy(e => e.Key)
            .Process(() => new BucketSums(100), "bucket-sums");
        sums.SinkTo(sink);
        sums.SideOutput(BucketSums.Large).SinkTo(large);
        cluster.Register(pipeline);
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("process-killed");
        await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 3, "3 checkpoints before the kill");

        var victim = cluster.Cluster.SecondarySilos[^1];
        output.WriteLine($"killing {victim.SiloAddress} after {RecoveryScenario.Completed(await coordinator.GetHistoryAsync())} checkpoints, {sink.CommittedEpochs} epochs committed");
        await cluster.CrashSiloAsync(victim);
        await RecoveryScenario.AppendUntilAsync(input, async () => (await coordinator.GetRecoveryAsync()).RecoveryMilliseconds.Count > 0, "recovery (a checkpoint completed after the restart)");

        input.Append(rounds: 5);
        input.Source.CompleteAll();
        var expected = input.Oracle();
        await RecoveryScenario.WaitForAsync(() => sink.Committed().Count >= expected.Count, TimeSpan.FromSeconds(60), $"{expected.Count} committed bucket sums");
        var recovery = await coordinator.GetRecoveryAsync();
        output.WriteLine($"attempt {recovery.Attempt}, restarts {recovery.Restarts} ({recovery.LastRestartReason}), restored from {recovery.RestoredFrom}");

        RecoveryScenario.AssertEqualsOracleExactly(expected, sink.Committed(), output);
        Assert.True(recovery.Restarts >= 1, "the dead silo should have restarted the pipeline");
        var expectedLarge = input.All.Where(e => e.Value == BucketSums.LargeValue).Select(e => (e.Key, e.Ts)).Order().ToList();
        await RecoveryScenario.WaitForAsync(() => large.Committed().Count >= expectedLarge.Count, TimeSpan.FromSeconds(30), $"{expectedLarge.Count} committed side-output records");
        Assert.Equal(expectedLarge, large.Committed().Select(e => (e.Key, e.Ts)).Order().ToList());
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>
    /// Tumbling sums written by hand: a map state of bucket start to running sum per key, and an event-time timer at each
    /// bucket's last millisecond that emits and forgets the bucket. A record whose bucket has already fired is late and dropped.
    /// Records of the largest value also go to the side output <see cref="Large"/>.
    /// </summary>
    private sealed class BucketSums(long size) : KeyedProcessFunction<string, Event, WindowResult>
    {
        public const long LargeValue = 4;

        public static OutputTag<Event> Large { get; } = new("large");

        private IMapState<long, long> _sums = null!;

        public override void Open(IKeyedRuntimeContext state) => _sums = state.GetMapState(new MapStateDescriptor<long, long>("sums"));

        public override void ProcessElement(Event value, IKeyedProcessContext<string> ctx, ICollector<WindowResult> output)
        {
            var start = value.Ts - (((value.Ts % size) + size) % size);
            var end = start + size - 1;
            if (end <= ctx.CurrentWatermark)
            {
                return;
            }

            if (value.Value == LargeValue)
            {
                ctx.Output(Large, value);
            }

            _sums.Put(start, (_sums.TryGetValue(start, out var sum) ? sum : 0) + value.Value);
            ctx.Timers.RegisterEventTimeTimer(end);
        }

        public override void OnTimer(long time, IOnTimerContext<string> ctx, ICollector<WindowResult> output)
        {
            var start = time - size + 1;
            if (_sums.TryGetValue(start, out var sum))
            {
                output.Collect(new WindowResult(ctx.CurrentKey, start, start + size, sum));
                _sums.Remove(start);
            }
        }
    }
}
