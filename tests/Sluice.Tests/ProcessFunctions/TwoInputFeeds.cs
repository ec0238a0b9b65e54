using Sluice.Sources;
using Sluice.Tests.Properties;

namespace Sluice.Tests.ProcessFunctions;

/// <summary>An order (first input of the co-process test): taken from the key's balance.</summary>
[GenerateSerializer, Immutable]
public readonly record struct Order([property: Id(0)] string Key, [property: Id(1)] int Id, [property: Id(2)] long Ts, [property: Id(3)] int Amount);

/// <summary>A payment (second input): added to the key's balance.</summary>
[GenerateSerializer, Immutable]
public readonly record struct Payment([property: Id(0)] string Key, [property: Id(1)] int Id, [property: Id(2)] long Ts, [property: Id(3)] int Amount);

/// <summary>An order with the key's balance just before it, everything up to its event time applied.</summary>
[GenerateSerializer, Immutable]
public readonly record struct OrderBalance([property: Id(0)] string Key, [property: Id(1)] int OrderId, [property: Id(2)] long Ts, [property: Id(3)] long Balance);

/// <summary>A rule change (broadcast input): from <see cref="Ts"/> on, rule <see cref="Rule"/> flags values above <see cref="Threshold"/>.</summary>
[GenerateSerializer, Immutable]
public readonly record struct ThresholdRule([property: Id(0)] int Rule, [property: Id(1)] long Ts, [property: Id(2)] long Threshold, [property: Id(3)] int Id);

/// <summary>An event over its key's rule threshold, with the key's count of flagged events so far (in event-time order).</summary>
[GenerateSerializer, Immutable]
public readonly record struct Alert([property: Id(0)] string Key, [property: Id(1)] long Ts, [property: Id(2)] long Value, [property: Id(3)] long Threshold, [property: Id(4)] long Count);

/// <summary>
/// Seeded out-of-order input for two sources, appended round by round: each partition has its own clock that moves on
/// 0-5 ms per record, and each record is up to 39 ms behind it (within a 40 ms bound, so none is late).
/// </summary>
internal sealed class TwoSourceFeed<T1, T2>(
    int seed, InMemorySource<T1> first, InMemorySource<T2> second, int perRound1, int perRound2,
    Func<Random, long, int, T1> make1, Func<Random, long, int, T2> make2, Func<T1, long> ts1, Func<T2, long> ts2)
{
    private readonly Random _random = new(seed);
    private readonly long[] _clock1 = new long[first.Partitions];
    private readonly long[] _clock2 = new long[second.Partitions];
    private int _ids;

    public List<T1> All1 { get; } = [];

    public List<T2> All2 { get; } = [];

    public void Append(int rounds)
    {
        for (var round = 0; round < rounds; round++)
        {
            Append(first, _clock1, perRound1, make1, ts1, All1);
            Append(second, _clock2, perRound2, make2, ts2, All2);
        }
    }

    public void CompleteAll()
    {
        first.CompleteAll();
        second.CompleteAll();
    }

    private void Append<T>(InMemorySource<T> source, long[] clocks, int perRound, Func<Random, long, int, T> make, Func<T, long> ts, List<T> all)
    {
        for (var p = 0; p < clocks.Length; p++)
        {
            // Every partition moves about 50 ms per round, however many records it gets, so watermarks keep pace.
            var step = Math.Max(1, 50 / perRound);
            for (var i = 0; i < perRound; i++)
            {
                clocks[p] += _random.Next(0, (2 * step) + 1);
                var record = make(_random, clocks[p] - _random.Next(0, 40), ++_ids);
                all.Add(record);
                source.Add(p, record, ts(record));
            }
        }
    }
}
