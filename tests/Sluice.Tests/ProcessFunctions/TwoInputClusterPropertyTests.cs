using Sluice.Grains;
using Sluice.Sources;
using Sluice.Tests.Properties;
using Sluice.Tests.Recovery;
using Sluice.Time;
using Xunit.Abstractions;

namespace Sluice.Tests.ProcessFunctions;

/// <summary>
/// Two-input stages on real in-process silos (1-3, or 2-3 when one is killed mid-run) with random keys, out-of-order
/// input within the bound, random batch and buffer sizes and an exactly-once sink: committed output equals an oracle
/// written here. Seeds are random per run and printed; <c>SLUICE_PROPERTY_SEED=&lt;seed&gt;</c> replays one.
/// </summary>
public sealed class TwoInputClusterPropertyTests(ITestOutputHelper output) : IDisposable
{
    private static readonly WatermarkStrategy Bounded = WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(40));
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-two-input-").FullName;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_co_process_join_of_two_sources_commits_exactly_the_oracles_balances(bool killASilo)
    {
        var seed = PropertySeeds.For(1)[0];
        var random = new Random(seed);
        var orders = new InMemorySource<Order>("orders", random.Next(1, 4));
        var payments = new InMemorySource<Payment>("payments", random.Next(1, 3));
        var keys = random.Next(3, 30);
        var feed = new TwoSourceFeed<Order, Payment>(
            seed, orders, payments, perRound1: 12, perRound2: 8,
            (r, ts, id) => new Order($"k{r.Next(keys)}", id, ts, r.Next(1, 10)),
            (r, ts, id) => new Payment($"k{r.Next(keys)}", id, ts, r.Next(1, 10)),
            o => o.Ts,
            p => p.Ts);
        var sink = new CommittingSink<OrderBalance>("balances", parallelism: 2);
        var (silos, options) = DrawShape(random, killASilo);
        output.WriteLine($"seed {seed} (replay: SLUICE_PROPERTY_SEED={seed}): {silos} silo(s), {orders.Partitions}+{payments.Partitions} partitions, {keys} keys, {options}, kill: {killASilo}");

        var id = $"coprocess-{seed}-{killASilo}";
        var pipeline = Pipeline.Create(id, options.Apply);
        var orderStream = pipeline.From(orders).WithTimestamps(o => o.Ts, Bounded);
        var paymentStream = pipeline.From(payments).WithTimestamps(p => p.Ts, Bounded);
        orderStream.Connect(paymentStream).KeyBy(o => o.Key, p => p.Key).Process(() => new BalanceJoin(), "balance-join").SinkTo(sink);

        await RunAsync(pipeline, silos, killASilo, feed.Append, feed.CompleteAll, () => sink.CommittedEpochs, async () =>
        {
            var expected = BalanceJoin.Oracle(feed.All1, feed.All2);
            await RecoveryScenario.WaitForAsync(() => sink.Committed().Count >= expected.Count, TimeSpan.FromSeconds(60), $"{expected.Count} committed balances");
            AssertExactly(expected, sink.Committed(), b => (b.Key, b.OrderId));
        });
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Broadcast_rules_changing_mid_stream_flag_exactly_the_oracles_events(bool killASilo)
    {
        var seed = PropertySeeds.For(1)[0];
        var random = new Random(seed);
        var events = new InMemorySource<Event>("events", random.Next(1, 4));
        var rules = new InMemorySource<ThresholdRule>("rules", 1);
        var keys = random.Next(3, 30);
        var feed = new TwoSourceFeed<Event, ThresholdRule>(
            seed, events, rules, perRound1: 15, perRound2: 2,
            (r, ts, _) => new Event($"k{r.Next(keys)}", ts, r.Next(1, 10)),
            (r, ts, id) => new ThresholdRule(r.Next(DynamicThresholds.Rules), ts, r.Next(1, 9), id),
            e => e.Ts,
            r => r.Ts);
        var sink = new CommittingSink<Alert>("alerts", parallelism: 2);
        var (silos, options) = DrawShape(random, killASilo);
        output.WriteLine($"seed {seed} (replay: SLUICE_PROPERTY_SEED={seed}): {silos} silo(s), {events.Partitions} event partitions, {keys} keys, {options}, kill: {killASilo}");

        var id = $"broadcast-{seed}-{killASilo}";
        var pipeline = Pipeline.Create(id, options.Apply);
        var ruleStream = pipeline.From(rules).WithTimestamps(r => r.Ts, Bounded).Broadcast(DynamicThresholds.Thresholds);
        pipeline.From(events).WithTimestamps(e => e.Ts, Bounded)
            .KeyBy(e => e.Key)
            .Connect(ruleStream)
            .Process(() => new DynamicThresholds(), "thresholds")
            .SinkTo(sink);

        await RunAsync(pipeline, silos, killASilo, feed.Append, feed.CompleteAll, () => sink.CommittedEpochs, async () =>
        {
            var expected = DynamicThresholds.Oracle(feed.All1, feed.All2);
            output.WriteLine($"{feed.All2.Count} rule changes, {feed.All1.Count} events, {expected.Count} alerts expected");
            await RecoveryScenario.WaitForAsync(() => sink.Committed().Count >= expected.Count, TimeSpan.FromSeconds(60), $"{expected.Count} committed alerts");
            AssertExactly(expected, sink.Committed(), a => a);
        });
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static (int Silos, Shape Options) DrawShape(Random random, bool kill) =>
        (kill ? random.Next(2, 4) : random.Next(1, 4), new Shape(random.Next(1, 65), random.Next(1, 129)));

    /// <summary>
    /// Appends rounds until checkpoints complete; with <paramref name="kill"/>, kills the last secondary silo and appends
    /// until the pipeline recovered. Then appends a few more rounds, ends the input and checks the output while the cluster runs.
    /// </summary>
    private async Task RunAsync(Pipeline pipeline, int silos, bool kill, Action<int> append, Action complete, Func<int> committedEpochs, Func<Task> checkOutput)
    {
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos);
        cluster.Register(pipeline);
        var coordinator = await RecoveryScenario.CheckpointThenCrashAsync(cluster, pipeline.Id, append, kill, committedEpochs, output);

        append(5);
        complete();
        await checkOutput();
        var recovery = await coordinator.GetRecoveryAsync();
        output.WriteLine($"attempt {recovery.Attempt}, restarts {recovery.Restarts} ({recovery.LastRestartReason})");
        if (kill)
        {
            Assert.True(recovery.Restarts >= 1, "the dead silo should have restarted the pipeline");
        }
    }


    private void AssertExactly<T, TId>(List<T> expected, List<T> committed, Func<T, TId> idOf)
    {
        output.WriteLine($"{committed.Count} committed, {expected.Count} expected");
        var duplicates = committed.GroupBy(idOf).Where(g => g.Count() > expected.Count(e => Equals(idOf(e), g.Key))).Select(g => g.Key).Take(5).ToList();
        Assert.True(duplicates.Count == 0, $"committed more than once: {string.Join(", ", duplicates)}");
        var missing = expected.Except(committed).Take(5).ToList();
        var wrong = committed.Except(expected).Take(5).ToList();
        Assert.True(missing.Count == 0 && wrong.Count == 0, $"missing e.g. {string.Join(", ", missing)}; not in the oracle e.g. {string.Join(", ", wrong)}");
        Assert.Equal(expected.Select(e => e!.ToString()).Order(StringComparer.Ordinal), committed.Select(e => e!.ToString()).Order(StringComparer.Ordinal));
    }

    /// <summary>Random batch sizes of a case: records per source read and per exchange buffer.</summary>
    private sealed record Shape(int SourceBatchSize, int BufferSize)
    {
        public void Apply(PipelineOptions o)
        {
            RecoveryScenario.Checkpointed(o);
            o.SourceBatchSize = SourceBatchSize;
            o.BufferSize = BufferSize;
        }
    }
}
