namespace Sluice.Tests.Properties;

/// <summary>What one input channel of a window stage delivers: a record, a watermark, idleness or its end.</summary>
public enum StageInputKind
{
    Record,
    Watermark,
    Idle,
    End,
}

/// <summary>One delivery to a window stage, on the input of <see cref="Partition"/> (a source partition or upstream task).</summary>
public readonly record struct StageInput(int Partition, StageInputKind Kind, Event Record, long Watermark)
{
    public static StageInput Of(int partition, Event record) => new(partition, StageInputKind.Record, record, 0);

    public static StageInput WatermarkOf(int partition, long watermark) => new(partition, StageInputKind.Watermark, default, watermark);

    public static StageInput IdleOf(int partition) => new(partition, StageInputKind.Idle, default, 0);

    public static StageInput EndOf(int partition) => new(partition, StageInputKind.End, default, 0);

    public override string ToString() => Kind switch
    {
        StageInputKind.Record => $"p{Partition} {Record}",
        StageInputKind.Watermark => $"p{Partition} wm {Watermark}",
        _ => $"p{Partition} {Kind}",
    };
}

/// <summary>Windows of <see cref="Size"/> ms every <see cref="Slide"/> ms from <see cref="Offset"/>; tumbling when they are equal.</summary>
public readonly record struct WindowSpec(long Size, long Slide, long Offset)
{
    public override string ToString() => Size == Slide ? $"tumbling {Size} ms offset {Offset}" : $"sliding {Size} ms every {Slide} ms offset {Offset}";
}

/// <summary>A fired window: key, <c>[Start, End)</c>, the aggregate and the stage's watermark when it fired.</summary>
[GenerateSerializer, Immutable]
public readonly record struct FiredWindow(
    [property: Id(0)] string Key,
    [property: Id(1)] long Start,
    [property: Id(2)] long End,
    [property: Id(3)] long Value,
    [property: Id(4)] long Watermark)
{
    public override string ToString() => $"({Key} [{Start}, {End}) = {Value} @wm {Watermark})";
}

/// <summary>What the oracle expects of one stage: fired windows (with the input index that fired them) and what was late.</summary>
public sealed class LateDataExpectation
{
    /// <summary>Every fired window and the index of the input during which it fired (<c>Inputs.Count</c>: none fired, see <see cref="Unfired"/>).</summary>
    public List<(FiredWindow Window, int FiredAt)> Fired { get; } = [];

    /// <summary>Windows with state that never fired (the input never ended).</summary>
    public List<FiredWindow> Unfired { get; } = [];

    /// <summary>Records every one of whose windows had fired: dropped and counted (Flink's numLateRecordsDropped).</summary>
    public int Dropped { get; set; }

    /// <summary>(record, window) pairs skipped because that window had fired while another window took the record.</summary>
    public int PartlyLate { get; set; }

    /// <summary>Records in no window at all (a slide longer than the size); Flink counts them as dropped when they are behind the watermark.</summary>
    public int InNoWindow { get; set; }

    /// <summary>Stage watermark after each input.</summary>
    public List<long> StageWatermarks { get; } = [];
}

/// <summary>
/// Brute-force model of one keyed window stage, written from Flink's definitions and independent of the engine.
/// Every input channel has a watermark (start: <c>long.MinValue</c>), may be idle (an idle channel becomes active again
/// with its next record or watermark) and may end. The stage watermark is the minimum over the channels that are active,
/// not ended and aligned, and never goes back; a channel that becomes active again below the stage watermark is unaligned
/// until its watermark catches up (Flink's StatusWatermarkValve). When every channel has ended it is <c>long.MaxValue</c>;
/// when every remaining channel is idle it holds. A window <c>[start, end)</c> fires when the stage watermark reaches
/// <c>end - 1</c>, with the value of the records it took; a record is late for a window whose <c>end - 1</c> is at or
/// below the stage watermark when the record arrives (allowed lateness 0), and is dropped when it is late for all of
/// its windows. Windows come from <see cref="WindowOracle.WindowsOf"/> (found by scanning).
/// </summary>
public static class LateDataOracle
{
    public static LateDataExpectation Run(IReadOnlyList<StageInput> inputs, int channels, WindowSpec windows, AggregateKind kind)
    {
        var result = new LateDataExpectation();
        var watermark = new long[channels];
        var idle = new bool[channels];
        var ended = new bool[channels];
        var aligned = new bool[channels];
        Array.Fill(watermark, long.MinValue);
        Array.Fill(aligned, true);
        var stage = long.MinValue;
        var open = new Dictionary<(string Key, long Start, long End), long>();
        for (var i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            var p = input.Partition;
            switch (input.Kind)
            {
                case StageInputKind.Record:
                    Activate(p);
                    Add(input.Record);
                    break;
                case StageInputKind.Watermark:
                    Activate(p);
                    watermark[p] = Math.Max(watermark[p], input.Watermark);
                    aligned[p] |= watermark[p] >= stage;
                    break;
                case StageInputKind.Idle:
                    idle[p] = true;
                    break;
                case StageInputKind.End:
                    ended[p] = true;
                    break;
            }

            Advance(i);
            result.StageWatermarks.Add(stage);
        }

        result.Unfired.AddRange(open.Select(e => new FiredWindow(e.Key.Key, e.Key.Start, e.Key.End, e.Value, long.MinValue)));
        return result;

        void Activate(int p)
        {
            if (idle[p])
            {
                idle[p] = false;
                aligned[p] = watermark[p] >= stage;
            }
        }

        void Add(Event e)
        {
            var all = WindowOracle.WindowsOf(e.Ts, windows.Size, windows.Slide, windows.Offset);
            var taken = 0;
            foreach (var (start, end) in all)
            {
                if (end - 1 <= stage)
                {
                    continue;
                }

                taken++;
                var k = (e.Key, start, end);
                open[k] = open.GetValueOrDefault(k) + (kind == AggregateKind.Count ? 1 : e.Value);
            }

            if (all.Count == 0)
            {
                result.InNoWindow++;
            }
            else if (taken == 0)
            {
                result.Dropped++;
            }
            else
            {
                result.PartlyLate += all.Count - taken;
            }
        }

        void Advance(int index)
        {
            long next;
            if (ended.All(x => x))
            {
                next = long.MaxValue;
            }
            else
            {
                var live = Enumerable.Range(0, channels).Where(c => !ended[c] && !idle[c] && aligned[c]).ToList();
                if (live.Count == 0)
                {
                    return;
                }

                next = live.Min(c => watermark[c]);
            }

            if (next <= stage)
            {
                return;
            }

            stage = next;
            foreach (var fired in open.Where(e => e.Key.End - 1 <= stage).ToList())
            {
                open.Remove(fired.Key);
                result.Fired.Add((new FiredWindow(fired.Key.Key, fired.Key.Start, fired.Key.End, fired.Value, stage), index));
            }
        }
    }
}
