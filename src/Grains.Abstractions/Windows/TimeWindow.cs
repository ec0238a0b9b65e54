namespace Sluice.Windows;

/// <summary>
/// A window over event or processing time, <c>[Start, End)</c> as in Flink. A global window is
/// <c>[long.MinValue, long.MaxValue)</c>.
/// </summary>
[GenerateSerializer, Immutable]
public readonly record struct TimeWindow([property: Id(0)] long Start, [property: Id(1)] long End)
{
    /// <summary>The largest timestamp that still belongs to the window; the window fires when the watermark reaches it.</summary>
    public long MaxTimestamp => End == long.MaxValue ? long.MaxValue : End - 1;

    public static TimeWindow Global { get; } = new(long.MinValue, long.MaxValue);

    /// <summary>Flink's <c>TimeWindow.getWindowStartWithOffset</c>: the start of the window of <paramref name="size"/> containing <paramref name="timestamp"/>.</summary>
    public static long StartOf(long timestamp, long offset, long size)
    {
        var remainder = (timestamp - offset) % size;
        // C#'s % keeps the sign of the dividend; Flink adds the size for negative timestamps the same way.
        return remainder < 0 ? timestamp - (remainder + size) : timestamp - remainder;
    }

    public override string ToString() => $"[{Start}, {End})";
}
