namespace Sluice.Tests.Properties;

/// <summary>
/// A random input with late data, in rounds. Round r ends with every active partition at (at least) the stage target
/// <c>S[r]</c>; records of round r are drawn against <c>S[r-1]</c>, the stage watermark they meet: a random fraction is
/// late (far behind, a little behind, or exactly on a window boundary at or just past the watermark), the rest on time
/// and out of order within a random bound ahead. Partitions get different speeds (explicit watermarks ahead of the
/// target, with <see cref="EqualWatermarks"/> off), some go silent for good (idle, excluded once detected) and, with
/// <see cref="Returns"/>, come back after a pause, catching up with an explicit watermark first. Repeated watermarks
/// (no-ops) split reads and batches at random. Everything comes from <see cref="Seed"/>.
/// </summary>
public sealed class LateStreamCase
{
    private LateStreamCase(int seed) => Seed = seed;

    public int Seed { get; }

    public int Partitions { get; private init; }

    public WindowSpec Windows { get; private init; }

    public AggregateKind Kind { get; private init; }

    public double LateFraction { get; private init; }

    /// <summary>True: every active partition ends round r exactly at <c>S[r]</c> (what a cluster run can reproduce exactly).</summary>
    public bool EqualWatermarks { get; private init; }

    public bool Returns { get; private init; }

    /// <summary>The stage target after each round; every round passes at least one window end (<see cref="FiringTimes"/>).</summary>
    public IReadOnlyList<long> Targets { get; private init; } = [];

    /// <summary>Per round, a window max timestamp in <c>(S[r-1], S[r]]</c>: a window that fires in round r.</summary>
    public IReadOnlyList<long> FiringTimes { get; private init; } = [];

    /// <summary>Inputs per round and partition, in the order the partition delivers them (records, watermarks, idleness).</summary>
    public IReadOnlyList<IReadOnlyList<IReadOnlyList<StageInput>>> Rounds { get; private init; } = [];

    /// <summary>Partitions that have gone silent for good after a round: never delivers again until the end.</summary>
    public IReadOnlyList<int> SilentFrom { get; private init; } = [];

    public int RecordCount => Rounds.Sum(r => r.Sum(p => p.Count(i => i.Kind == StageInputKind.Record)));

    public static LateStreamCase Generate(int seed, int rounds, bool equalWatermarks, bool allowReturns, int maxPartitions = 4, bool tumblingOnly = false)
    {
        var rng = new Random(seed);
        var partitions = rng.Next(1, maxPartitions + 1);
        var keys = rng.Next(1, 12);
        var size = rng.NextInt64(5, 120);
        var slide = tumblingOnly ? size : rng.Next(3) switch
        {
            0 => size,
            1 => rng.NextInt64(Math.Max(1, size / 5), size + 1),
            _ => rng.Next(4) == 0 ? rng.NextInt64(size + 1, 2 * size) : size,
        };
        var offset = rng.Next(2) == 0 ? 0 : rng.NextInt64(-slide + 1, slide);
        var windows = new WindowSpec(size, slide, offset);
        var lateFraction = rng.Next(5) == 0 ? 0.0 : rng.NextDouble() * 0.6;
        var bound = rng.NextInt64(0, 3 * size);
        var returns = allowReturns && partitions > 1 && rng.Next(2) == 0;

        // Silent partitions: never the first (some partition always drives the watermark); silent after a random round.
        var silentFrom = Enumerable.Range(0, partitions).Select(p => p > 0 && rng.Next(4) == 0 ? rng.Next(0, rounds) : int.MaxValue).ToArray();
        // A paused partition (only with returns) misses one middle round without going silent, then catches up.
        var paused = Enumerable.Range(0, partitions).Select(p => returns && p > 0 && silentFrom[p] == int.MaxValue && rng.Next(2) == 0 ? rng.Next(1, Math.Max(2, rounds - 1)) : -1).ToArray();

        var targets = new List<long>();
        var firing = new List<long>();
        var stage = rng.NextInt64(-5 * size, 5 * size);
        var partitionWatermark = new long[partitions];
        Array.Fill(partitionWatermark, long.MinValue);
        var all = new List<IReadOnlyList<IReadOnlyList<StageInput>>>();
        for (var r = 0; r < rounds; r++)
        {
            // A window max timestamp past the previous target, then the new target at or a little past it.
            var m = NextWindowMax(stage, windows) + (rng.NextInt64(0, 3) * slide);
            var target = m + (rng.Next(3) == 0 ? 0 : rng.NextInt64(0, slide));
            var planned = new long[partitions];
            for (var p = 0; p < partitions; p++)
            {
                var ahead = equalWatermarks || p == 0 ? 0 : rng.Next(3) == 0 ? rng.NextInt64(0, 2 * size) : 0;
                planned[p] = Math.Max(partitionWatermark[p], target + ahead);
            }

            var catchUp = planned.Max();
            var round = new List<IReadOnlyList<StageInput>>();
            for (var p = 0; p < partitions; p++)
            {
                var steps = new List<StageInput>();
                round.Add(steps);
                if (r > silentFrom[p])
                {
                    continue; // silent for good
                }

                if (r == paused[p])
                {
                    steps.Add(StageInput.IdleOf(p));
                    continue;
                }

                if (r > 0 && r - 1 == paused[p])
                {
                    // Back after a pause: catch up first (to the highest watermark of this round), so the partition
                    // is aligned when its records come whatever the stage reached meanwhile.
                    steps.Add(StageInput.WatermarkOf(p, catchUp));
                    partitionWatermark[p] = catchUp;
                }

                var count = r == silentFrom[p] && rng.Next(2) == 0 ? 0 : rng.Next(0, 40);
                for (var i = 0; i < count; i++)
                {
                    var ts = rng.NextDouble() < lateFraction ? LateTime(rng, stage, windows) : stage + 1 + rng.NextInt64(0, target - stage + bound + 1);
                    steps.Add(StageInput.Of(p, new Event($"k{rng.Next(keys)}", ts, rng.Next(-20, 21))));
                    if (r > 0 && rng.Next(10) == 0)
                    {
                        steps.Add(StageInput.WatermarkOf(p, Math.Max(stage, partitionWatermark[p]))); // a no-op that splits reads and batches
                    }
                }

                if (r == silentFrom[p])
                {
                    steps.Add(StageInput.IdleOf(p)); // a cluster source finds out itself (idle timeout)
                    continue;
                }

                steps.Add(StageInput.WatermarkOf(p, planned[p]));
                partitionWatermark[p] = planned[p];
            }

            all.Add(round);
            targets.Add(target);
            firing.Add(m);
            stage = target;
        }

        return new LateStreamCase(seed)
        {
            Partitions = partitions,
            Windows = windows,
            Kind = rng.Next(2) == 0 ? AggregateKind.Count : AggregateKind.Sum,
            LateFraction = lateFraction,
            EqualWatermarks = equalWatermarks,
            Returns = returns,
            Targets = targets,
            FiringTimes = firing,
            Rounds = all,
            SilentFrom = Enumerable.Range(0, partitions).Where(p => silentFrom[p] != int.MaxValue).ToList(),
        };
    }

    /// <summary>The smallest window max timestamp (<c>end - 1</c>) above <paramref name="watermark"/>.</summary>
    public static long NextWindowMax(long watermark, WindowSpec w)
    {
        // Window ends are offset + size + k * slide; find the first end - 1 > watermark by scanning from a start below it.
        var end = WindowOracle.LastWindowStart(watermark - w.Size, w.Offset, w.Slide) + w.Size;
        while (end - 1 <= watermark)
        {
            end += w.Slide;
        }

        return end - 1;
    }

    /// <summary>A timestamp at or behind the watermark: far behind, a little behind, or on a window boundary around it.</summary>
    private static long LateTime(Random rng, long watermark, WindowSpec w)
    {
        var boundary = WindowOracle.LastWindowStart(watermark, w.Offset, w.Slide);
        return rng.Next(6) switch
        {
            0 => watermark - rng.NextInt64(10 * w.Size, 100 * w.Size), // far behind
            1 => boundary - 1, // last ms of a window ending at or before the watermark's window
            2 => boundary, // first ms of the window holding the watermark
            3 => watermark, // exactly at the watermark
            4 => NextWindowMax(watermark, w) - w.Slide, // end - 1 of the last fired window of this slide
            _ => watermark - rng.NextInt64(0, 2 * w.Size),
        };
    }

    /// <summary>A round-ordered delivery: all of round r before round r+1, partitions interleaved at random within a round.</summary>
    public List<StageInput> Interleave(int seed)
    {
        var rng = new Random(seed);
        var inputs = new List<StageInput>();
        foreach (var round in Rounds)
        {
            var positions = new int[Partitions];
            while (true)
            {
                var open = Enumerable.Range(0, Partitions).Where(p => positions[p] < round[p].Count).ToList();
                if (open.Count == 0)
                {
                    break;
                }

                var p = open[rng.Next(open.Count)];
                var take = rng.Next(1, 8);
                for (var i = 0; i < take && positions[p] < round[p].Count; i++)
                {
                    inputs.Add(round[p][positions[p]++]);
                }
            }
        }

        return inputs;
    }

    public override string ToString() =>
        $"seed {Seed} (replay: SLUICE_PROPERTY_SEED={Seed}): {Partitions} partition(s), {Windows}, {Kind}, {Rounds.Count} rounds, "
        + $"{RecordCount} records, late fraction {LateFraction:F2}, {(EqualWatermarks ? "equal" : "per-partition")} watermarks, "
        + $"silent [{string.Join(",", SilentFrom)}], returns {Returns}, targets [{string.Join(",", Targets)}]";
}
