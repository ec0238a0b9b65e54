namespace Sluice.Sources;

/// <summary>Settings of the deterministic generator source.</summary>
public sealed class GeneratorSourceOptions
{
    public int Partitions { get; set; } = 4;

    /// <summary>Records per second across all partitions; 0 generates as fast as the pipeline reads.</summary>
    public double RecordsPerSecond { get; set; } = 10_000;

    /// <summary>Event-time density: records per second of event time across all partitions. Defaults to <see cref="RecordsPerSecond"/>, or 10,000 when unthrottled.</summary>
    public double? EventTimeRecordsPerSecond { get; set; }

    /// <summary>Number of distinct keys; record keys are uniform in [0, KeyCount).</summary>
    public long KeyCount { get; set; } = 1_000;

    public ulong Seed { get; set; } = 42;

    /// <summary>Each record's timestamp is moved back by a uniform jitter in [0, MaxOutOfOrderness].</summary>
    public TimeSpan MaxOutOfOrderness { get; set; } = TimeSpan.Zero;

    /// <summary>Records per partition before the partition ends; null never ends.</summary>
    public long? RecordsPerPartition { get; set; }

    /// <summary>Event time of the first record; null takes the wall clock when the partition is opened.</summary>
    public DateTimeOffset? StartTime { get; set; }
}

/// <summary>One generated record's raw material; every field is a pure function of seed, partition and index.</summary>
public readonly record struct GeneratedEvent(int Partition, long Index, long Key, long Timestamp, ulong Random);

/// <summary>
/// A seeded, reproducible source: record <c>i</c> of partition <c>p</c> is the same on every run and every silo.
/// Event time advances with the record index (not the wall clock), with optional out-of-order jitter.
/// </summary>
public sealed class GeneratorSource<T> : SourceDefinition<T>
{
    private readonly Func<GeneratedEvent, T> _factory;

    public GeneratorSource(string name, GeneratorSourceOptions options, Func<GeneratedEvent, T> factory)
        : base(name, options.Partitions)
    {
        ArgumentNullException.ThrowIfNull(factory);
        if (options.RecordsPerSecond < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.RecordsPerSecond, $"Generator '{name}': RecordsPerSecond cannot be negative.");
        }

        if (options.KeyCount <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.KeyCount, $"Generator '{name}': KeyCount must be positive.");
        }

        Options = options;
        _factory = factory;
        StartMilliseconds = options.StartTime?.ToUnixTimeMilliseconds() ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    }

    public GeneratorSourceOptions Options { get; }

    /// <summary>Event time of index 0, fixed when the source is defined so all silos agree.</summary>
    public long StartMilliseconds { get; }

    public override ISourceReader<T> OpenReader(int partition) => new Reader(this, partition);

    /// <summary>The event for (partition, index): used by readers and by oracles that recompute a run.</summary>
    public GeneratedEvent EventAt(int partition, long index)
    {
        var o = Options;
        var eventRate = o.EventTimeRecordsPerSecond ?? (o.RecordsPerSecond > 0 ? o.RecordsPerSecond : 10_000);
        var globalIndex = (index * o.Partitions) + partition;
        var baseTime = StartMilliseconds + (long)(globalIndex * 1000.0 / eventRate);
        var random = SplitMix64(o.Seed ^ ((ulong)partition << 48) ^ (ulong)index);
        var key = (long)(random % (ulong)o.KeyCount);
        var jitterRange = (long)o.MaxOutOfOrderness.TotalMilliseconds;
        var jitter = jitterRange == 0 ? 0 : (long)((random >> 20) % (ulong)(jitterRange + 1));
        return new GeneratedEvent(partition, index, key, baseTime - jitter, SplitMix64(random));
    }

    public T Create(in GeneratedEvent e) => _factory(e);

    private static ulong SplitMix64(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    private sealed class Reader(GeneratorSource<T> source, int partition) : ISourceReader<T>, ISeekableSourceReader
    {
        private long _next;
        private long _openedAt = -1;

        public long Position => _next;

        public void Seek(long position) => _next = Math.Max(0, position);

        public SourceReadResult Read(int maxRecords, ISourceOutput<T> output, long nowMilliseconds)
        {
            var o = source.Options;
            if (_openedAt < 0)
            {
                _openedAt = nowMilliseconds;
            }

            var limit = o.RecordsPerPartition ?? long.MaxValue;
            var due = limit;
            if (o.RecordsPerSecond > 0)
            {
                // Throttle by wall clock: a partition may have produced rate/partitions records per elapsed second.
                var perPartition = o.RecordsPerSecond / o.Partitions;
                due = Math.Min(limit, (long)((nowMilliseconds - _openedAt) / 1000.0 * perPartition) + 1);
            }

            var end = Math.Min(due, _next + maxRecords);
            for (; _next < end; _next++)
            {
                var e = source.EventAt(partition, _next);
                output.Record(source._factory(e), e.Timestamp);
            }

            return new SourceReadResult(Backlog: Math.Max(0, due - _next), Ended: _next >= limit);
        }
    }
}
