using Sluice.Functions;
using Sluice.State;
using Sluice.Tests.Properties;

namespace Sluice.Tests.FaultSchedule;

/// <summary>
/// The count-window stage of the fault schedules: sliding count windows (Flink's <c>countWindow(6, 3)</c>: a global
/// window, a count trigger of 3 and a count evictor of 6), every record kept in the window's state, and a process
/// window function that numbers each key's firings in its global (per-key) state. A result is
/// <c>(key, n, n + 1, sum of the last 6 records)</c> for the key's n-th firing, so a lost or repeated firing, a lost
/// evicted or kept record, or a lost firing counter changes the output. Keys live on one source partition each (the
/// feed's partition-local keys), so each key's order is its partition's and the windows are a function of the input.
/// </summary>
internal sealed class CountWindowSums : IProcessWindowFunction<Event, WindowResult, string>
{
    private const int Size = 6;
    private const int Slide = 3;
    private static readonly ValueStateDescriptor<long> Firings = new("firings");

    public static DataStream<WindowResult> Define(KeyedStream<Event, string> keyed) =>
        keyed.CountWindow(Size, Slide).Process(new CountWindowSums(), "counts");

    public void Process(string key, WindowContext context, IReadOnlyList<Event> elements, ICollector<WindowResult> output)
    {
        var firings = context.GlobalState.GetState(Firings);
        var n = firings.Value();
        firings.Update(n + 1);
        var sum = 0L;
        for (var i = 0; i < elements.Count; i++)
        {
            sum += elements[i].Value;
        }

        output.Collect(new WindowResult(key, n, n + 1, sum));
    }

    /// <summary>
    /// Brute force: per key, in its partition's order, after every third record the last (up to) six; the rest of a key
    /// that never filled a slide does not fire (a global window ends only with the end of time, which fires no count).
    /// </summary>
    public static Dictionary<(string Key, long Start, long End), long> Oracle(OutOfOrderEventFeed input)
    {
        var results = new Dictionary<(string Key, long Start, long End), long>();
        for (var p = 0; p < input.Partitions; p++)
        {
            foreach (var key in input.Partition(p).GroupBy(e => e.Key))
            {
                var sequence = key.ToList();
                for (var n = Slide; n <= sequence.Count; n += Slide)
                {
                    var firing = (n / Slide) - 1;
                    results.Add((key.Key, firing, firing + 1), sequence.Skip(Math.Max(0, n - Size)).Take(Math.Min(n, Size)).Sum(e => (long)e.Value));
                }
            }
        }

        return results;
    }
}
