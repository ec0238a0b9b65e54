using Sluice.Sources;

namespace Sluice.Tests.Properties;

/// <summary>
/// One randomly generated input: per partition, records whose timestamps are out of order by at most
/// <see cref="Bound"/> (ts = a non-decreasing base minus a jitter in [0, Bound]), interleaved with explicit
/// watermarks that never pass a later record. So no record can be late, and every window must match the oracle.
/// Engine settings that move batch boundaries (buffer size, source batch size, key groups) are random too.
/// </summary>
public sealed class StreamCase
{
    private StreamCase(int seed) => Seed = seed;

    public int Seed { get; }

    public int Partitions { get; private init; }

    public int Keys { get; private init; }

    /// <summary>Out-of-orderness bound (ms) the records respect and the watermark strategy uses.</summary>
    public long Bound { get; private init; }

    public int MaxParallelism { get; private init; }

    public int BufferSize { get; private init; }

    public int SourceBatchSize { get; private init; }

    public int SinkParallelism { get; private init; }

    /// <summary>True: records are appended in random chunks while the pipeline runs; false: all before it starts.</summary>
    public bool AppendWhileRunning { get; private init; }

    /// <summary>Per partition, in append order: a record, or an explicit watermark (Record is null).</summary>
    public IReadOnlyList<IReadOnlyList<(Event? Record, long Watermark)>> Steps { get; private init; } = [];

    public IEnumerable<Event> Records => Steps.SelectMany(s => s).Where(s => s.Record is not null).Select(s => s.Record!.Value);

    /// <summary>Generates a case; <paramref name="timeScale"/> (ms, e.g. the window size) scales bounds and gaps.</summary>
    public static StreamCase Generate(int seed, long timeScale)
    {
        var rng = new Random(seed);
        var partitions = rng.Next(1, 5);
        var keys = rng.Next(1, 51);
        // A quarter of the cases are in order (bound 0); some bounds exceed the window size.
        var bound = rng.Next(4) == 0 ? 0 : rng.NextInt64(1, (2 * timeScale) + 1);
        var origin = rng.NextInt64(-10 * timeScale, 10 * timeScale); // negative timestamps too
        var steps = new List<IReadOnlyList<(Event?, long)>>();
        for (var p = 0; p < partitions; p++)
        {
            var list = new List<(Event?, long)>();
            var count = rng.Next(0, 600);
            var baseTs = origin + rng.NextInt64(0, timeScale);
            for (var i = 0; i < count; i++)
            {
                // Mostly small steps, sometimes a jump over several windows.
                baseTs += rng.Next(20) == 0 ? rng.NextInt64(0, 3 * timeScale) : rng.Next(0, 6);
                var ts = baseTs - (bound == 0 ? 0 : rng.NextInt64(0, bound + 1));
                list.Add((new Event($"k{rng.Next(keys)}", ts, rng.Next(-100, 101)), 0));
                if (rng.Next(12) == 0)
                {
                    // At most what the generator itself would emit (base - bound - 1): later records have
                    // ts >= base - bound, so they stay on time.
                    list.Add((null, baseTs - bound - 1 - (rng.Next(2) == 0 ? 0 : rng.Next(0, 100))));
                }
            }

            steps.Add(list);
        }

        return new StreamCase(seed)
        {
            Partitions = partitions,
            Keys = keys,
            Bound = bound,
            MaxParallelism = rng.Next(3) == 0 ? 1 : rng.Next(2, 17),
            BufferSize = rng.Next(2) == 0 ? rng.Next(1, 16) : rng.Next(16, 1001),
            SourceBatchSize = rng.Next(2) == 0 ? rng.Next(1, 32) : rng.Next(32, 4097),
            SinkParallelism = rng.Next(1, 3),
            AppendWhileRunning = rng.Next(2) == 0,
            Steps = steps,
        };
    }

    /// <summary>Appends everything (in random chunks across partitions when running) and completes every partition.</summary>
    public async Task FeedAsync(InMemorySource<Event> source)
    {
        var rng = new Random(Seed ^ 0x5eed);
        var positions = new int[Partitions];
        while (true)
        {
            var open = Enumerable.Range(0, Partitions).Where(p => positions[p] < Steps[p].Count).ToList();
            if (open.Count == 0)
            {
                break;
            }

            var partition = open[rng.Next(open.Count)];
            var end = AppendWhileRunning ? Math.Min(Steps[partition].Count, positions[partition] + rng.Next(1, 80)) : Steps[partition].Count;
            for (; positions[partition] < end; positions[partition]++)
            {
                var (record, watermark) = Steps[partition][positions[partition]];
                if (record is { } r)
                {
                    source.Add(partition, r, r.Ts);
                }
                else
                {
                    source.AddWatermark(partition, watermark);
                }
            }

            if (AppendWhileRunning && rng.Next(3) == 0)
            {
                await Task.Delay(rng.Next(1, 25));
            }
        }

        source.CompleteAll();
    }

    public override string ToString() =>
        $"seed {Seed} (replay: SLUICE_PROPERTY_SEED={Seed}): {Partitions} partition(s), {Keys} key(s), bound {Bound} ms, "
        + $"{Records.Count()} records, {Steps.Sum(s => s.Count(x => x.Record is null))} explicit watermarks, "
        + $"MaxParallelism {MaxParallelism}, BufferSize {BufferSize}, SourceBatchSize {SourceBatchSize}, "
        + $"sink tasks {SinkParallelism}, {(AppendWhileRunning ? "appended while running" : "appended before start")}";
}

/// <summary>Seeds for a property: random per run, or starting at SLUICE_PROPERTY_SEED to replay a failure.</summary>
public static class PropertySeeds
{
    public static IReadOnlyList<int> For(int cases)
    {
        var first = int.TryParse(Environment.GetEnvironmentVariable("SLUICE_PROPERTY_SEED"), out var fixedSeed)
            ? fixedSeed
            : Random.Shared.Next(0, int.MaxValue / 2);
        return Enumerable.Range(0, cases).Select(i => first + i).ToList();
    }
}
