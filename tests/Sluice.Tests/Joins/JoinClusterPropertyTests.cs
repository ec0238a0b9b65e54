using Sluice.Grains;
using Sluice.Joins;
using Sluice.ProcessFunctions;
using Sluice.Sources;
using Sluice.Tests.ProcessFunctions;
using Sluice.Tests.Properties;
using Sluice.Tests.Recovery;
using Sluice.Time;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.Joins;

/// <summary>
/// Joins of two sources on real in-process silos (1-3, or 2-3 with one killed mid-run so the pipeline restarts from a
/// checkpoint): an interval join, a window join (tumbling or sliding, random size, slide and offset), a session window
/// join (random static gap) and a regular join.
/// Random keys, partitions, batch and buffer sizes, out-of-order input (<see cref="TwoSourceFeed{T1,T2}"/>) plus records
/// far behind every watermark: committed output equals a brute-force oracle written here, none twice. Which records the
/// cluster found late is read from the joins' late side outputs (a regular join has none: nothing is late to it); the
/// oracle joins every other record, and no record within the out-of-orderness bound may be among the late ones.
/// Seeds are random per run and printed; <c>SLUICE_PROPERTY_SEED=&lt;seed&gt;</c> replays one.
/// </summary>
public sealed class JoinClusterPropertyTests(ITestOutputHelper output) : IDisposable
{
    private static readonly OutputTag<Side> LeftLate = new("left-late");
    private static readonly OutputTag<Side> RightLate = new("right-late");
    private static readonly WatermarkStrategy Bounded = WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(40));
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-join-cluster-").FullName;

    public enum JoinKind
    {
        Interval,
        Window,
        Session,
        Regular,
    }

    [Theory]
    [InlineData(JoinKind.Interval, false)]
    [InlineData(JoinKind.Interval, true)]
    [InlineData(JoinKind.Window, true)]
    [InlineData(JoinKind.Session, true)]
    [InlineData(JoinKind.Regular, true)]
    public async Task A_join_of_two_sources_commits_exactly_the_oracles_pairs(JoinKind kind, bool killASilo)
    {
        var seed = PropertySeeds.For(1)[0];
        var random = new Random(seed);
        var lefts = new InMemorySource<Side>("lefts", random.Next(1, 4));
        var rights = new InMemorySource<Side>("rights", random.Next(1, 3));
        var keys = random.Next(2, 20);
        var join = JoinUnderTest.Create(kind, random);
        var feed = new TwoSourceFeed<Side, Side>(
            seed, lefts, rights, perRound1: 10, perRound2: 10,
            (r, ts, id) => new Side($"k{r.Next(keys)}", id, join.Stamp(ts)),
            (r, ts, id) => new Side($"k{r.Next(keys)}", id, join.Stamp(ts)),
            s => s.Ts,
            s => s.Ts);
        var injected = new List<Side>();
        var pairs = new CommittingSink<Pair>("pairs", parallelism: 2);
        var lateLeft = new CommittingSink<Side>("late-left", parallelism: 1);
        var lateRight = new CommittingSink<Side>("late-right", parallelism: 1);
        var silos = killASilo ? random.Next(2, 4) : random.Next(1, 4);
        var (batch, buffer) = (random.Next(1, 65), random.Next(1, 129));
        var context = $"seed {seed} (replay: SLUICE_PROPERTY_SEED={seed}): {silos} silo(s), {lefts.Partitions}+{rights.Partitions} partitions, "
            + $"{keys} keys, {join}, SourceBatchSize {batch}, BufferSize {buffer}, kill: {killASilo}";
        output.WriteLine(context);

        var id = $"{kind.ToString().ToLowerInvariant()}-join-{seed}-{killASilo}";
        var pipeline = Pipeline.Create(id, o =>
        {
            RecoveryScenario.Checkpointed(o);
            o.SourceBatchSize = batch;
            o.BufferSize = buffer;
        });
        var left = pipeline.From(lefts).WithTimestamps(s => s.Ts, Bounded);
        var right = pipeline.From(rights).WithTimestamps(s => s.Ts, Bounded);
        var joined = join.Apply(left, right, LeftLate, RightLate);
        joined.SinkTo(pairs);
        joined.SideOutput(LeftLate).SinkTo(lateLeft);
        joined.SideOutput(RightLate).SinkTo(lateRight);

        await using var cluster = await RecoveryScenario.StartAsync(_root, silos);
        cluster.Register(pipeline);
        void Append(int rounds)
        {
            feed.Append(rounds);
            // Now and then a record of either side far behind everything appended so far: late once watermarks exist.
            if (random.Next(3) == 0)
            {
                var left = random.Next(2) == 0;
                var stale = new Side($"k{random.Next(keys)}", (left ? 1_000_000 : 2_000_000) + injected.Count, join.Stamp(random.NextInt64(-5_000, -1_000)));
                injected.Add(stale);
                if (left)
                {
                    lefts.Add(random.Next(lefts.Partitions), stale, stale.Ts);
                }
                else
                {
                    rights.Add(random.Next(rights.Partitions), stale, stale.Ts);
                }
            }
        }

        var coordinator = await RecoveryScenario.CheckpointThenCrashAsync(cluster, id, Append, killASilo, () => pairs.CommittedEpochs, output);

        Append(5);
        feed.CompleteAll();
        List<string> Expected() => Oracle(join, feed.All1, feed.All2, injected, [.. lateLeft.Committed(), .. lateRight.Committed()]);
        await RecoveryScenario.WaitForAsync(() => pairs.Committed().Count >= Expected().Count, TimeSpan.FromSeconds(90), "every expected pair committed");
        await Task.Delay(1000); // room for a duplicate or a late decision to show up

        var recovery = await coordinator.GetRecoveryAsync();
        var lateIds = lateLeft.Committed().Concat(lateRight.Committed()).Select(s => s.Id).ToHashSet();
        output.WriteLine($"attempt {recovery.Attempt}, restarts {recovery.Restarts}; {feed.All1.Count}+{feed.All2.Count} records, "
            + $"{injected.Count} stale ones of which {lateIds.Count} late, {pairs.Committed().Count} pairs");
        var onTimeLate = feed.All1.Concat(feed.All2).Where(s => lateIds.Contains(s.Id)).Take(5).ToList();
        Assert.True(onTimeLate.Count == 0, $"{context}: records within the out-of-orderness bound were dropped as late: {string.Join(", ", onTimeLate)}");
        var expected = Expected();
        var actual = pairs.Committed().Select(p => p.ToString()).Order(StringComparer.Ordinal).ToList();
        WindowOracle.AssertSameMultiset(expected, actual, context);
        if (killASilo)
        {
            Assert.True(recovery.Restarts >= 1, $"{context}: the dead silo should have restarted the pipeline");
        }
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>The join's pairs among every record the join did not find late (each pair as often as the join emits it).</summary>
    private static List<string> Oracle(JoinUnderTest join, List<Side> lefts, List<Side> rights, List<Side> injected, List<Side> late)
    {
        var lateIds = late.Select(s => s.Id).ToHashSet();
        var l = lefts.Concat(injected.Where(s => s.Id < 2_000_000)).Where(s => !lateIds.Contains(s.Id)).ToList();
        var r = rights.Concat(injected.Where(s => s.Id >= 2_000_000)).Where(s => !lateIds.Contains(s.Id)).ToList();
        var pairs = join.Pairs(l, r).Select(p => p.ToString()).ToList();
        pairs.Sort(StringComparer.Ordinal);
        return pairs;
    }
}
