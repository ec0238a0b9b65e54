using Sluice.Functions;
using Sluice.Grains;
using Sluice.ProcessFunctions;
using Sluice.Sources;
using Sluice.Tests.Recovery;
using Sluice.Time;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.Properties;

/// <summary>
/// Session windows on real in-process silos (1-3, or 2-3 with one killed mid-run so the pipeline restarts from a
/// checkpoint): a static or a per-record (dynamic) gap, random allowed lateness, a late-data side output, random keys,
/// partitions, batch and buffer sizes, out-of-order input within the watermark bound plus records far behind every
/// watermark. Each firing lists the ids of its records, so the committed firings must equal a brute-force model written
/// here exactly: per key, the sessions of every record the window did not find late (read from the committed late side
/// output), none twice; and no record within the bound may be among the late ones.
/// <para>
/// Which sessions a record joins depends, in Flink and here, on the watermark when it arrives: a record exactly touching a
/// session that already fired starts a new one. The test rules that case out so the model over the final set is exact:
/// timestamps are even and gaps odd, and an on-time record is ahead of the watermark, hence at or after the end of any
/// fired session and never exactly at it.
/// </para>
/// Seeds are random per run and printed; <c>SLUICE_PROPERTY_SEED=&lt;seed&gt;</c> replays one.
/// </summary>
public sealed class SessionWindowClusterPropertyTests(ITestOutputHelper output) : IDisposable
{
    private const int StaleIds = 1_000_000;
    private static readonly OutputTag<Visit> Late = new("late-visits");
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-session-window-").FullName;

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public async Task Session_windows_commit_exactly_the_oracles_sessions_across_a_restore(bool dynamicGap, bool killASilo)
    {
        var seed = PropertySeeds.For(1)[0];
        var random = new Random(seed);
        var source = new InMemorySource<Visit>("visits", random.Next(1, 4));
        var keys = random.Next(2, 16);
        var gap = (2 * random.Next(0, 13)) + 1; // odd: 1-25 ms; a dynamic gap is (2 * (id % 7)) + 1
        var lateness = random.Next(3) == 0 ? 0 : random.Next(1, 40);
        var silos = killASilo ? random.Next(2, 4) : random.Next(1, 4);
        var (batch, buffer) = (random.Next(1, 65), random.Next(1, 129));
        var context = $"seed {seed} (replay: SLUICE_PROPERTY_SEED={seed}): {silos} silo(s), {source.Partitions} partitions, {keys} keys, "
            + $"{(dynamicGap ? "gap 2 * (id % 7) + 1" : $"gap {gap}")}, lateness {lateness}, SourceBatchSize {batch}, BufferSize {buffer}, kill: {killASilo}";
        output.WriteLine(context);

        var id = $"session-window-{seed}-{dynamicGap}-{killASilo}";
        var pipeline = Pipeline.Create(id, o =>
        {
            RecoveryScenario.Checkpointed(o);
            o.SourceBatchSize = batch;
            o.BufferSize = buffer;
        });
        var firings = new CommittingSink<string>("sessions", parallelism: 2);
        var late = new CommittingSink<Visit>("late", parallelism: 1);
        WindowAssigner assigner = dynamicGap
            ? Session.WithDynamicGap<Visit>(v => TimeSpan.FromMilliseconds(DynamicGap(v)))
            : Session.WithGap(TimeSpan.FromMilliseconds(gap));
        var sessions = pipeline.From(source)
            .WithTimestamps(v => v.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(40)))
            .KeyBy(v => v.Key)
            .Window(assigner)
            .AllowedLateness(TimeSpan.FromMilliseconds(lateness))
            .SideOutputLateData(Late)
            .Process(new ListVisits(), "sessions");
        sessions.SinkTo(firings);
        sessions.SideOutput(Late).SinkTo(late);

        var sent = new List<Visit>();
        var clocks = new long[source.Partitions];
        void Append(int rounds)
        {
            for (var r = 0; r < rounds; r++)
            {
                for (var p = 0; p < clocks.Length; p++)
                {
                    for (var i = 0; i < 20; i++)
                    {
                        // Within 40 ms of the partition's clock (even, rounded down), or now and then far behind every watermark.
                        clocks[p] += random.Next(0, 6);
                        var stale = random.Next(40) == 0;
                        var ts = Even(stale ? random.NextInt64(-5_000, -1_000) : clocks[p] - random.Next(0, 40));
                        var visit = new Visit($"k{random.Next(keys)}", (stale ? StaleIds : 0) + sent.Count, ts);
                        sent.Add(visit);
                        source.Add(p, visit, ts);
                    }
                }
            }
        }

        await using var cluster = await RecoveryScenario.StartAsync(_root, silos);
        cluster.Register(pipeline);
        var coordinator = await RecoveryScenario.CheckpointThenCrashAsync(cluster, id, Append, killASilo, () => firings.CommittedEpochs, output);

        Append(5);
        source.CompleteAll();
        Func<Visit, long> gapOf = dynamicGap ? DynamicGap : _ => gap;
        List<string> Expected() => Oracle(sent, late.Committed().Select(v => v.Id).ToHashSet(), gapOf);
        await RecoveryScenario.WaitForAsync(() => firings.Committed().Count >= Expected().Count, TimeSpan.FromSeconds(90), "every expected session committed");
        await Task.Delay(1000); // room for a duplicate or a late decision to show up

        var recovery = await coordinator.GetRecoveryAsync();
        var lateIds = late.Committed().Select(v => v.Id).ToHashSet();
        var onTimeLate = sent.Where(v => v.Id < StaleIds && lateIds.Contains(v.Id)).Take(5).ToList();
        Assert.True(onTimeLate.Count == 0, $"{context}: records within the out-of-orderness bound went to the late output: {string.Join(", ", onTimeLate)}");
        var expected = Expected();
        var actual = firings.Committed().Order(StringComparer.Ordinal).ToList();
        output.WriteLine($"attempt {recovery.Attempt}, restarts {recovery.Restarts}; {sent.Count} records, "
            + $"{sent.Count(v => v.Id >= StaleIds)} stale of which {lateIds.Count} late, {actual.Count} sessions");
        WindowOracle.AssertSameMultiset(expected, actual, context);
        if (killASilo)
        {
            Assert.True(recovery.Restarts >= 1, $"{context}: the dead silo should have restarted the pipeline");
        }
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static long Even(long ts) => ts - (ts & 1);

    private static long DynamicGap(Visit v) => (2 * (v.Id % 7)) + 1;

    /// <summary>
    /// Per key, in timestamp order: a record spans <c>[ts, ts + gap)</c> and joins the current session when it starts at or
    /// before the session's end (windows that touch merge); a session is <c>key:[start,end):ids</c>, ids in order.
    /// </summary>
    private static List<string> Oracle(List<Visit> sent, HashSet<int> late, Func<Visit, long> gapOf)
    {
        var result = new List<string>();
        foreach (var key in sent.Where(v => !late.Contains(v.Id)).GroupBy(v => v.Key))
        {
            var session = new List<Visit>();
            var (start, end) = (0L, 0L);
            foreach (var v in key.OrderBy(v => v.Ts))
            {
                if (session.Count > 0 && v.Ts > end)
                {
                    result.Add(Firing(key.Key, start, end, session));
                    session.Clear();
                }

                (start, end) = session.Count == 0 ? (v.Ts, v.Ts + gapOf(v)) : (start, Math.Max(end, v.Ts + gapOf(v)));
                session.Add(v);
            }

            result.Add(Firing(key.Key, start, end, session));
        }

        result.Sort(StringComparer.Ordinal);
        return result;
    }

    private static string Firing(string key, long start, long end, IEnumerable<Visit> visits) =>
        $"{key}:[{start},{end}):{string.Join(",", visits.Select(v => v.Id).Order())}";

    [GenerateSerializer, Immutable]
    public readonly record struct Visit([property: Id(0)] string Key, [property: Id(1)] int Id, [property: Id(2)] long Ts);

    private sealed class ListVisits : IProcessWindowFunction<Visit, string, string>
    {
        public void Process(string key, WindowContext context, IReadOnlyList<Visit> elements, ICollector<string> output) =>
            output.Collect(Firing(key, context.Window.Start, context.Window.End, elements));
    }
}
