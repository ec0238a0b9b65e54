using Sluice.State.Heap;

namespace Sluice.Tests.State;

/// <summary>The heap backend's hash table against a dictionary, on random adds, updates, removes and expiry sweeps.</summary>
public sealed class StateTableTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Random_operations_match_a_dictionary(int seed)
    {
        var random = new Random(seed);
        var table = new StateTable<string, long, int>();
        var oracle = new Dictionary<(string, long), (int Value, long Expiry)>();
        for (var step = 0; step < 50_000; step++)
        {
            var key = $"k{random.Next(300)}";
            long ns = random.Next(4);
            switch (random.Next(4))
            {
                case 0 or 1:
                    var expiry = (long)random.Next(10_000);
                    ref var entry = ref table.Find(key, ns);
                    if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref entry))
                    {
                        table.Add(key, ns, step, expiry);
                    }
                    else
                    {
                        entry.Value = step;
                        entry.Expiry = expiry;
                    }

                    oracle[(key, ns)] = (step, expiry);
                    break;
                case 2:
                    Assert.Equal(oracle.Remove((key, ns)), table.Remove(key, ns));
                    break;
                default:
                    var now = (long)step / 5;
                    table.Sweep(random.Next(1, 20), now);
                    // A sweep removes only expired entries; the oracle drops whatever the table dropped of those.
                    foreach (var ((k, n), (_, e)) in oracle.ToList())
                    {
                        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref table.Find(k, n)))
                        {
                            Assert.True(e <= now, $"{k}/{n} was removed before it expired");
                            oracle.Remove((k, n));
                        }
                    }

                    break;
            }

            Assert.Equal(oracle.Count, table.Count);
        }

        foreach (var ((key, ns), (value, expiry)) in oracle)
        {
            ref var entry = ref table.Find(key, ns);
            Assert.Equal(value, entry.Value);
            Assert.Equal(expiry, entry.Expiry);
        }
    }

    [Fact]
    public void A_table_whose_entries_expired_shrinks_back_when_swept()
    {
        var table = new StateTable<long, int, long>();
        for (var i = 0; i < 100_000; i++)
        {
            table.Add(i, 0, i, expiry: i < 99_990 ? 10 : long.MaxValue);
        }

        for (var i = 0; i < 200_000 && table.SlotCount > 16; i++)
        {
            table.Sweep(8, now: 10);
        }

        Assert.Equal(10, table.Count);
        Assert.Equal(10, table.SlotCount);
        for (var i = 99_990; i < 100_000; i++)
        {
            Assert.Equal(i, table.Find(i, 0).Value);
        }
    }
}
