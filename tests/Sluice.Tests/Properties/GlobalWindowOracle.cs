namespace Sluice.Tests.Properties;

/// <summary>
/// A global-window pipeline as the oracle sees it: which trigger (count or continuous event time, purging or not) and
/// which evictor (none, count, time or delta; before or after the function).
/// </summary>
public sealed record GlobalWindowSpec(string Trigger, long TriggerParameter, bool Purging, string Evictor, long EvictorParameter, bool EvictAfter)
{
    public override string ToString() =>
        $"{(Purging ? "purging " : string.Empty)}{Trigger}({TriggerParameter}), evictor {Evictor}({EvictorParameter}{(EvictAfter ? ", after" : string.Empty)})";
}

/// <summary>One input of a global-window case: a record (key, value, timestamp) or a watermark.</summary>
public readonly record struct GlobalInput(bool IsWatermark, string Key, long Value, long Timestamp)
{
    public static GlobalInput Record(string key, long value, long timestamp) => new(false, key, value, timestamp);

    public static GlobalInput Watermark(long watermark) => new(true, string.Empty, 0, watermark);

    public override string ToString() => IsWatermark ? $"W{Timestamp}" : $"{Key}:{Value}@{Timestamp}";
}

/// <summary>One firing: the key, the sum and the count of what the function saw.</summary>
public readonly record struct GlobalFiring(string Key, long Sum, int Count)
{
    public override string ToString() => $"({Key} sum {Sum} of {Count})";
}

/// <summary>
/// Brute-force model of a keyed global window with a trigger and an evictor, written from the definitions and not from
/// the engine: per key a plain list of (value, timestamp) in arrival order. A count trigger fires on the n-th record since
/// its last firing; a continuous event-time trigger fires at every interval boundary the watermark passes, starting at the
/// boundary after the key's first record (Java's remainder, as Flink computes it). On a firing the evictor trims a copy of
/// the list before the function sees it (or after), the function sums it, and the list becomes what is left (or nothing
/// when purging). Global windows are never late. Returns (firing, index of the input during which it happened).
/// </summary>
public static class GlobalWindowOracle
{
    public static List<(GlobalFiring Firing, int Input)> Run(IReadOnlyList<GlobalInput> inputs, GlobalWindowSpec spec, Func<long, long, double> delta)
    {
        var elements = new Dictionary<string, List<(long Value, long Ts)>>();
        var counts = new Dictionary<string, long>();
        var nextFire = new Dictionary<string, long>();
        var fired = new List<(GlobalFiring, int)>();
        var watermark = long.MinValue;
        for (var i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            if (!input.IsWatermark)
            {
                if (!elements.TryGetValue(input.Key, out var list))
                {
                    elements[input.Key] = list = [];
                }

                list.Add((input.Value, input.Timestamp));
                if (spec.Trigger == "count")
                {
                    counts[input.Key] = counts.GetValueOrDefault(input.Key) + 1;
                    if (counts[input.Key] >= spec.TriggerParameter)
                    {
                        counts[input.Key] = 0;
                        Fire(input.Key, i);
                    }
                }
                else if (!nextFire.ContainsKey(input.Key))
                {
                    nextFire[input.Key] = input.Timestamp - (input.Timestamp % spec.TriggerParameter) + spec.TriggerParameter;
                }

                continue;
            }

            // Only a rising watermark moves time (Flink forwards strictly increasing watermarks); a firing time that is already
            // behind it waits for the next one.
            if (input.Timestamp <= watermark)
            {
                continue;
            }

            watermark = input.Timestamp;
            foreach (var key in nextFire.Keys.Order(StringComparer.Ordinal).ToList())
            {
                while (nextFire[key] <= input.Timestamp)
                {
                    nextFire[key] += spec.TriggerParameter;
                    Fire(key, i);
                }
            }
        }

        return fired;

        void Fire(string key, int input)
        {
            var list = elements[key];
            var view = new List<(long Value, long Ts)>(list);
            if (!spec.EvictAfter)
            {
                view = Evict(view, spec, delta);
            }

            if (view.Count > 0)
            {
                fired.Add((new GlobalFiring(key, view.Sum(e => e.Value), view.Count), input));
            }

            if (spec.EvictAfter)
            {
                view = Evict(view, spec, delta);
            }

            elements[key] = spec.Purging ? [] : view;
        }
    }

    private static List<(long Value, long Ts)> Evict(List<(long Value, long Ts)> view, GlobalWindowSpec spec, Func<long, long, double> delta)
    {
        if (view.Count == 0)
        {
            return view;
        }

        switch (spec.Evictor)
        {
            case "count":
                return view.Skip(Math.Max(0, view.Count - (int)spec.EvictorParameter)).ToList();
            case "time":
                var newest = view.Max(e => e.Ts);
                return view.Where(e => e.Ts > newest - spec.EvictorParameter).ToList();
            case "delta":
                var last = view[^1].Value;
                return view.Where(e => delta(e.Value, last) < spec.EvictorParameter).ToList();
            default:
                return view;
        }
    }
}
