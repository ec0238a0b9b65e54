namespace Sluice.Tests.Properties;

/// <summary>A window kind the lateness oracle models: tumbling/sliding by size and slide, or sessions by gap.</summary>
public readonly record struct WindowKindSpec(string Kind, long Size, long Slide, long Gap, long Lateness)
{
    public static WindowKindSpec Tumbling(long size, long lateness) => new("tumbling", size, size, 0, lateness);

    public static WindowKindSpec Sliding(long size, long slide, long lateness) => new("sliding", size, slide, 0, lateness);

    public static WindowKindSpec Session(long gap, long lateness) => new("session", 0, 0, gap, lateness);

    public bool IsSession => Kind == "session";

    public override string ToString() => IsSession ? $"session gap {Gap} lateness {Lateness}" : $"{Kind} {Size}/{Slide} lateness {Lateness}";
}

/// <summary>One input of a window stage: a record (key, value, timestamp) or a watermark.</summary>
public readonly record struct LatenessInput(bool IsWatermark, string Key, long Value, long Timestamp)
{
    public static LatenessInput Record(string key, long value, long ts) => new(false, key, value, ts);

    public static LatenessInput Watermark(long wm) => new(true, string.Empty, 0, wm);

    public override string ToString() => IsWatermark ? $"wm {Timestamp}" : $"{Key}:{Value}@{Timestamp}";
}

/// <summary>A window result as the oracle expects it: key, window, sum, and whether it is the on-time firing or a late update.</summary>
public readonly record struct OracleFiring(string Key, long Start, long End, long Sum, bool Late)
{
    public override string ToString() => $"({Key} [{Start}, {End}) = {Sum}{(Late ? " late" : string.Empty)})";
}

/// <summary>
/// Brute-force model of an event-time window stage with allowed lateness L and a late-data side output, written from
/// Flink's documented semantics, independently of the engine. The stage watermark W only rises. Per key, the model keeps
/// the live windows as plain (start, end, sum) entries:
/// <list type="bullet">
/// <item>Tumbling/sliding: a record goes into each of its windows unless that window's <c>end - 1 + L &lt;= W</c>.</item>
/// <item>Sessions: a record opens <c>[t, t + gap)</c>; every live session of its key that overlaps or touches it is
/// merged with it into their cover (sums added). It is late only when it touches no live session and
/// <c>t + gap - 1 + L &lt;= W</c>.</item>
/// <item>A window that takes a record while <c>end - 1 &lt;= W</c> fires at once with its new sum, as a late update.</item>
/// <item>When W rises, every live window with <c>end - 1 &lt;= W</c> that had not yet reached it fires on time, and
/// every window with <c>end - 1 + L &lt;= W</c> is forgotten.</item>
/// <item>A record taken by no window goes to the side output.</item>
/// </list>
/// Results are recorded per input index, so tests check what fired during which input.
/// </summary>
public static class LatenessOracle
{
    public static (List<(OracleFiring Firing, int At)> Fired, List<(LatenessInput Record, int At)> Late) Run(IReadOnlyList<LatenessInput> inputs, WindowKindSpec spec)
    {
        var fired = new List<(OracleFiring, int)>();
        var late = new List<(LatenessInput, int)>();
        var live = new List<(string Key, long Start, long End, long Sum)>();
        var watermark = long.MinValue;
        for (var i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            if (input.IsWatermark)
            {
                if (input.Timestamp <= watermark)
                {
                    continue;
                }

                var previous = watermark;
                watermark = input.Timestamp;
                foreach (var w in live.Where(w => w.End - 1 > previous && w.End - 1 <= watermark))
                {
                    fired.Add((new OracleFiring(w.Key, w.Start, w.End, w.Sum, Late: false), i));
                }

                live.RemoveAll(w => w.End - 1 + spec.Lateness <= watermark);
                continue;
            }

            var taken = spec.IsSession ? AddToSession(input, i) : AddToWindows(input, i);
            if (!taken)
            {
                late.Add((input, i));
            }
        }

        return (fired, late);

        bool AddToWindows(LatenessInput r, int at)
        {
            var taken = false;
            foreach (var (start, end) in WindowOracle.WindowsOf(r.Timestamp, spec.Size, spec.Slide, 0))
            {
                if (end - 1 + spec.Lateness <= watermark)
                {
                    continue;
                }

                taken = true;
                var index = live.FindIndex(w => w.Key == r.Key && w.Start == start && w.End == end);
                var sum = (index < 0 ? 0 : live[index].Sum) + r.Value;
                if (index < 0)
                {
                    live.Add((r.Key, start, end, sum));
                }
                else
                {
                    live[index] = (r.Key, start, end, sum);
                }

                if (end - 1 <= watermark)
                {
                    fired.Add((new OracleFiring(r.Key, start, end, sum, Late: true), at));
                }
            }

            return taken;
        }

        bool AddToSession(LatenessInput r, int at)
        {
            long start = r.Timestamp, end = r.Timestamp + spec.Gap, sum = r.Value;
            var touching = live.Where(w => w.Key == r.Key && w.Start <= end && w.End >= start).ToList();
            if (touching.Count == 0 && end - 1 + spec.Lateness <= watermark)
            {
                return false;
            }

            foreach (var w in touching)
            {
                start = Math.Min(start, w.Start);
                end = Math.Max(end, w.End);
                sum += w.Sum;
                live.Remove(w);
            }

            live.Add((r.Key, start, end, sum));
            if (end - 1 <= watermark)
            {
                fired.Add((new OracleFiring(r.Key, start, end, sum, Late: true), at));
            }

            return true;
        }
    }
}
