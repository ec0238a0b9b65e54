using Sluice.Sources;
using Sluice.Tests.Properties;

namespace Sluice.Tests.ProcessFunctions;

/// <summary>
/// Random input for <see cref="TrackerFunction"/>, appended to an in-memory source while the pipeline runs.
/// <para>
/// On-time records: per partition, timestamps out of order by at most <see cref="Bound"/> (a non-decreasing base minus a
/// jitter in [0, Bound]), with now and then an explicit watermark that never passes a later record. With the
/// bounded-out-of-orderness watermark of the same bound, such a record is ahead of its partition's watermark, so ahead of
/// every key group's watermark whatever the other partitions did: the function always sees it on time.
/// </para>
/// <para>
/// Late records: once the output shows that bucket (key, start) fired, its key group's watermark has passed the
/// bucket's end and never goes back (a restored task starts from its checkpointed watermark; the test only looks at
/// output a checkpoint committed when it has one). Only then may records of that key at or before the bucket's end be
/// appended, to any partition: the function always sees them late. Which late records a bucket gets is drawn from the
/// seed, the key and the bucket alone, so the late set is the same in every run of a seed; where they land between the
/// on-time records is up to timing. A flush record per partition at the end moves every watermark past every bucket
/// so every gate opens.
/// </para>
/// </summary>
internal sealed class ProcessFeed
{
    private const string FlushKey = "~flush";
    private readonly Random _rng;
    private readonly long[] _base;
    private readonly int[] _remaining;
    private readonly HashSet<(string Key, long Start)> _buckets = [];
    private readonly HashSet<(string Key, long Start)> _opened = [];
    private readonly List<Event> _onTime = [];
    private readonly List<Event> _late = [];
    private readonly object _lock = new();

    private ProcessFeed(int seed, int minPartitions, bool late, bool slowPings)
    {
        Seed = seed;
        _rng = new Random(seed);
        Partitions = _rng.Next(minPartitions, 5);
        Keys = _rng.Next(1, 31);
        Size = _rng.NextInt64(5, 101);
        Bound = _rng.Next(4) == 0 ? 0 : _rng.NextInt64(1, (2 * Size) + 1);
        ReminderDelay = _rng.NextInt64(1, 3 * Size);
        if (ReminderDelay % Size == 0)
        {
            ReminderDelay++;
        }

        PingDelay = slowPings ? _rng.Next(150, 400) : _rng.Next(1, 40);
        FallbackDelay = (2 * _rng.Next(10, 60)) + 1;
        LateChance = _rng.Next(5) == 0 && !late ? 0 : 0.05 + (_rng.NextDouble() * 0.45);
        MaxParallelism = _rng.Next(3) == 0 ? 1 : _rng.Next(2, 17);
        BufferSize = _rng.Next(2) == 0 ? _rng.Next(1, 16) : _rng.Next(16, 1001);
        SourceBatchSize = _rng.Next(2) == 0 ? _rng.Next(1, 32) : _rng.Next(32, 4097);
        SinkParallelism = _rng.Next(1, 3);
        var origin = _rng.NextInt64(-10_000, 10_000);
        _base = Enumerable.Range(0, Partitions).Select(_ => origin + _rng.NextInt64(0, Size)).ToArray();
        _remaining = Enumerable.Range(0, Partitions).Select(_ => _rng.Next(0, 250)).ToArray();
        Source = new InMemorySource<Event>("events", Partitions);
    }

    public int Seed { get; }

    public int Partitions { get; }

    public int Keys { get; }

    public long Size { get; }

    public long Bound { get; }

    public long ReminderDelay { get; }

    public long PingDelay { get; }

    public long FallbackDelay { get; }

    /// <summary>Chance that a fired bucket gets late records (1 or 2).</summary>
    public double LateChance { get; }

    public int MaxParallelism { get; }

    public int BufferSize { get; }

    public int SourceBatchSize { get; }

    public int SinkParallelism { get; }

    public InMemorySource<Event> Source { get; }

    /// <summary>True while the generated amount of on-time records (for <see cref="AppendChunk"/>) is not all appended.</summary>
    public bool HasMore => _remaining.Any(r => r > 0);

    public int OnTimeCount
    {
        get
        {
            lock (_lock)
            {
                return _onTime.Count;
            }
        }
    }

    public int LateCount
    {
        get
        {
            lock (_lock)
            {
                return _late.Count;
            }
        }
    }

    /// <summary>True once every bucket of the on-time records (but the flush records') has been seen firing.</summary>
    public bool AllGatesOpen
    {
        get
        {
            lock (_lock)
            {
                return _buckets.IsSubsetOf(_opened);
            }
        }
    }

    /// <summary>Some buckets of the on-time records not yet seen firing, for failure messages.</summary>
    public string Unopened
    {
        get
        {
            lock (_lock)
            {
                var unopened = _buckets.Except(_opened).ToList();
                return $"{unopened.Count} buckets never seen firing, e.g. {string.Join(" ", unopened.Take(8))}";
            }
        }
    }

    /// <summary>
    /// A random case; <paramref name="late"/> makes sure some buckets get late records (else a fifth of the cases have
    /// none); <paramref name="slowPings"/> delays pings by 150-400 ms (else 1-40 ms), so that checkpoints hold pending ones.
    /// </summary>
    public static ProcessFeed Generate(int seed, int minPartitions = 1, bool late = false, bool slowPings = false) =>
        new(seed, minPartitions, late, slowPings);

    public TrackerFunction NewFunction() => new(Size, ReminderDelay, PingDelay, FallbackDelay);

    /// <summary>Appends 1-60 of the remaining on-time records to a random partition with some left (random batch boundaries).</summary>
    public void AppendChunk()
    {
        lock (_lock)
        {
            var open = Enumerable.Range(0, Partitions).Where(p => _remaining[p] > 0).ToList();
            if (open.Count == 0)
            {
                return;
            }

            var p = open[_rng.Next(open.Count)];
            var n = Math.Min(_remaining[p], _rng.Next(1, 61));
            _remaining[p] -= n;
            AppendOnTime(p, n);
        }
    }

    /// <summary>Appends <paramref name="perPartition"/> more on-time records to every partition (for runs of any length).</summary>
    public void AppendRound(int perPartition)
    {
        lock (_lock)
        {
            for (var p = 0; p < Partitions; p++)
            {
                AppendOnTime(p, _rng.Next(0, perPartition + 1));
            }
        }
    }

    /// <summary>
    /// For every bucket output not seen before: draws its late records (from the seed, key and bucket) and appends them.
    /// <paramref name="fired"/> must only hold output whose firing can no longer be undone (committed, or no restarts).
    /// </summary>
    public void OpenGates(IEnumerable<Tracked> fired)
    {
        lock (_lock)
        {
            foreach (var f in fired)
            {
                if (f.Kind != "bucket" || f.Key == FlushKey || !_opened.Add((f.Key, f.Start)))
                {
                    continue;
                }

                var rng = new Random(Mix(Seed, f.Key, f.Start));
                if (rng.NextDouble() >= LateChance)
                {
                    continue;
                }

                var end = f.Start + Size - 1;
                for (var i = rng.Next(1, 3); i > 0; i--)
                {
                    var ts = rng.Next(5) switch
                    {
                        0 => end, // the bucket's last millisecond: exactly the timer that fired
                        1 => f.Start, // its first
                        2 => f.Start - rng.NextInt64(1, 20 * Size), // far behind, in an older bucket
                        3 => f.Start - 1, // the last millisecond of the bucket before
                        _ => f.Start + rng.NextInt64(0, Size),
                    };
                    var e = new Event(f.Key, ts, rng.Next(-9, 10));
                    _late.Add(e);
                    Source.Add(rng.Next(Partitions), e, e.Ts);
                }
            }
        }
    }

    /// <summary>A record per partition far past everything, so every partition's watermark passes every bucket and reminder.</summary>
    public void Flush()
    {
        lock (_lock)
        {
            var ts = _base.Max() + Bound + (3 * Size) + ReminderDelay + 1;
            for (var p = 0; p < Partitions; p++)
            {
                var e = new Event(FlushKey, ts + p, 1);
                _onTime.Add(e);
                Source.Add(p, e, e.Ts);
            }
        }
    }

    public ProcessOracle.Expected Oracle()
    {
        lock (_lock)
        {
            return ProcessOracle.Run(_onTime, _late, Size, ReminderDelay);
        }
    }

    private void AppendOnTime(int p, int n)
    {
        for (var i = 0; i < n; i++)
        {
            // Mostly small steps, sometimes a jump over several buckets.
            _base[p] += _rng.Next(20) == 0 ? _rng.NextInt64(0, 3 * Size) : _rng.Next(0, 6);
            var ts = _base[p] - (Bound == 0 ? 0 : _rng.NextInt64(0, Bound + 1));
            var e = new Event($"k{_rng.Next(Keys)}", ts, _rng.Next(-9, 10));
            _onTime.Add(e);
            _buckets.Add((e.Key, TrackerFunction.BucketStart(e.Ts, Size)));
            Source.Add(p, e, e.Ts);
            if (_rng.Next(15) == 0)
            {
                // At most what the partition's own watermark may be: later records have ts >= base - bound.
                Source.AddWatermark(p, _base[p] - Bound - 1 - (_rng.Next(2) == 0 ? 0 : _rng.Next(0, 50)));
            }
        }
    }

    /// <summary>A hash of (seed, key, start) that is the same in every process (string.GetHashCode is not).</summary>
    private static int Mix(int seed, string key, long start)
    {
        var h = 14695981039346656037UL ^ (ulong)seed;
        foreach (var c in key)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        h = (h ^ (ulong)start) * 1099511628211UL;
        return (int)(h ^ (h >> 32));
    }

    public override string ToString() =>
        $"seed {Seed} (replay: SLUICE_PROPERTY_SEED={Seed}): {Partitions} partition(s), {Keys} key(s), bound {Bound} ms, "
        + $"buckets {Size} ms, reminders +{ReminderDelay} ms, pings +{PingDelay} ms, fallbacks +{FallbackDelay} ms, "
        + $"late chance {LateChance:F2}, MaxParallelism {MaxParallelism}, BufferSize {BufferSize}, SourceBatchSize {SourceBatchSize}, "
        + $"sink tasks {SinkParallelism}";
}
