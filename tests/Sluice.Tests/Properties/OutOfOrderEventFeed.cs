using Sluice.Sources;

namespace Sluice.Tests.Properties;

/// <summary>
/// Out-of-order keyed events appended round by round to an in-memory source (per partition, 20 events up to 39 ms
/// behind that partition's clock), remembered per partition in read order so the oracle and a checkpoint's cut can
/// be recomputed. With <paramref name="partitionLocalKeys"/> each partition has keys of its own (<c>p{partition}k{n}</c>),
/// so a key's records arrive in its partition's order whatever the interleaving of partitions.
/// </summary>
internal sealed class OutOfOrderEventFeed(int seed, int partitions = OutOfOrderEventFeed.DefaultPartitions, bool partitionLocalKeys = false)
{
    public const int DefaultPartitions = 3;
    private const int PerPartitionAndRound = 20;
    private readonly Random _random = new(seed);
    private readonly long[] _time = new long[partitions];
    private readonly List<Event>[] _byPartition = Enumerable.Range(0, partitions).Select(_ => new List<Event>()).ToArray();

    public InMemorySource<Event> Source { get; } = new("in", partitions);

    public int Partitions => partitions;

    public IEnumerable<Event> All => _byPartition.SelectMany(p => p);

    public int Count => _byPartition.Sum(p => p.Count);

    /// <summary>The events of <paramref name="partition"/> in the order the source hands them out (index = read position).</summary>
    public IReadOnlyList<Event> Partition(int partition) => _byPartition[partition];

    public void Append(int rounds)
    {
        for (var round = 0; round < rounds; round++)
        {
            for (var p = 0; p < partitions; p++)
            {
                for (var i = 0; i < PerPartitionAndRound; i++)
                {
                    _time[p] += _random.Next(0, 6);
                    var key = _random.Next(10);
                    var e = new Event(partitionLocalKeys ? $"p{p}k{key}" : $"k{key}", _time[p] - _random.Next(0, 40), _random.Next(1, 5));
                    _byPartition[p].Add(e);
                    Source.Add(p, e, e.Ts);
                }
            }
        }
    }

    /// <summary>The brute-force sums per key and 100 ms tumbling window over everything appended.</summary>
    public Dictionary<(string Key, long Start, long End), long> Oracle() =>
        WindowOracle.Tumbling(All.ToList(), 100, 0, AggregateKind.Sum).ToDictionary(r => (r.Key, r.Start, r.End), r => r.Value);
}
