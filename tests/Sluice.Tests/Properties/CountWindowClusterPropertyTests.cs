using Sluice.Functions;
using Sluice.Grains;
using Sluice.Sources;
using Sluice.Tests.Recovery;
using Sluice.Time;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.Properties;

/// <summary>
/// Sliding count windows (a global window, a count trigger and a count evictor) on real in-process silos (1-3, or 2-3
/// with one killed mid-run so the pipeline restarts from a checkpoint), random keys, sizes, slides, partitions, batch and
/// buffer sizes, out-of-order timestamps and records far behind every watermark (never late for a global window).
/// Each key's records come from one partition, so the order the window sees them in is known: the committed firings must
/// equal a brute-force oracle written here exactly (which records each firing saw), none twice, none missing.
/// Seeds are random per run and printed; <c>SLUICE_PROPERTY_SEED=&lt;seed&gt;</c> replays one.
/// </summary>
public sealed class CountWindowClusterPropertyTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-count-window-").FullName;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Sliding_count_windows_commit_exactly_the_oracles_firings_across_a_restore(bool killASilo)
    {
        var seed = PropertySeeds.For(1)[0];
        var random = new Random(seed);
        var source = new InMemorySource<Numbered>("numbers", random.Next(1, 4));
        var keys = random.Next(2, 12);
        var size = random.Next(1, 7);
        var slide = random.Next(1, 5);
        var silos = killASilo ? random.Next(2, 4) : random.Next(1, 4);
        var (batch, buffer) = (random.Next(1, 65), random.Next(1, 129));
        var context = $"seed {seed} (replay: SLUICE_PROPERTY_SEED={seed}): {silos} silo(s), {source.Partitions} partitions, {keys} keys, "
            + $"CountWindow({size}, {slide}), SourceBatchSize {batch}, BufferSize {buffer}, kill: {killASilo}";
        output.WriteLine(context);

        var id = $"count-window-{seed}-{killASilo}";
        var pipeline = Pipeline.Create(id, o =>
        {
            RecoveryScenario.Checkpointed(o);
            o.SourceBatchSize = batch;
            o.BufferSize = buffer;
        });
        var firings = new CommittingSink<string>("firings", parallelism: 2);
        pipeline.From(source)
            .WithTimestamps(n => n.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(30)))
            .KeyBy(n => n.Key)
            .CountWindow(size, slide)
            .Process(new ListSequence(), "count-window")
            .SinkTo(firings);

        var sent = new Dictionary<string, List<long>>();
        var time = 0L;
        void Append(int rounds)
        {
            for (var r = 0; r < rounds; r++)
            {
                for (var i = 0; i < 20; i++)
                {
                    var k = random.Next(keys);
                    var key = $"k{k}";
                    if (!sent.TryGetValue(key, out var seqs))
                    {
                        sent[key] = seqs = [];
                    }

                    // Mostly near the clock, sometimes far behind every watermark.
                    var ts = random.Next(10) == 0 ? random.NextInt64(-5_000, -1_000) : time + random.Next(-40, 10);
                    source.Add(k % source.Partitions, new Numbered(key, seqs.Count, ts), ts);
                    seqs.Add(seqs.Count);
                    time += random.Next(0, 4);
                }
            }
        }

        await using var cluster = await RecoveryScenario.StartAsync(_root, silos);
        cluster.Register(pipeline);
        var coordinator = await RecoveryScenario.CheckpointThenCrashAsync(cluster, id, Append, killASilo, () => firings.CommittedEpochs, output);

        Append(5);
        source.CompleteAll();
        var expected = Oracle(sent, size, slide);
        await RecoveryScenario.WaitForAsync(() => firings.Committed().Count >= expected.Count, TimeSpan.FromSeconds(90), "every expected firing committed");
        await Task.Delay(1000); // room for a duplicate to show up

        var recovery = await coordinator.GetRecoveryAsync();
        var actual = firings.Committed().Order(StringComparer.Ordinal).ToList();
        output.WriteLine($"attempt {recovery.Attempt}, restarts {recovery.Restarts}; {sent.Values.Sum(s => s.Count)} records, {actual.Count} firings");
        Assert.True(expected.SequenceEqual(actual),
            $"{context}: {expected.Count} expected, {actual.Count} committed; missing e.g. {string.Join(" ", expected.Except(actual).Take(5))}; "
            + $"not in the oracle e.g. {string.Join(" ", actual.Except(expected).Take(5))}; duplicates: {actual.Count - actual.Distinct().Count()}");
        if (killASilo)
        {
            Assert.True(recovery.Restarts >= 1, $"{context}: the dead silo should have restarted the pipeline");
        }
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Per key, after every <paramref name="slide"/>-th record: the last <paramref name="size"/> records so far.</summary>
    private static List<string> Oracle(Dictionary<string, List<long>> sent, int size, int slide)
    {
        var result = new List<string>();
        foreach (var (key, seqs) in sent)
        {
            for (var n = slide; n <= seqs.Count; n += slide)
            {
                var first = Math.Max(0, n - size);
                result.Add(Firing(key, seqs.Skip(first).Take(n - first)));
            }
        }

        result.Sort(StringComparer.Ordinal);
        return result;
    }

    private static string Firing(string key, IEnumerable<long> seqs) => $"{key}:[{string.Join(",", seqs)}]";


    [GenerateSerializer, Immutable]
    public readonly record struct Numbered([property: Id(0)] string Key, [property: Id(1)] long Seq, [property: Id(2)] long Ts);

    private sealed class ListSequence : IProcessWindowFunction<Numbered, string, string>
    {
        public void Process(string key, WindowContext context, IReadOnlyList<Numbered> elements, ICollector<string> output) =>
            output.Collect(Firing(key, elements.Select(e => e.Seq)));
    }
}
