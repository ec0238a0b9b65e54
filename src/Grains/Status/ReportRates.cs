namespace Sluice.Status;

/// <summary>
/// Per-second rates worked out from the totals that tasks and source partitions report about once a second: each
/// rate is the difference between a reporter's last two reports over the time between their arrivals. Reporters skip
/// reports that would say nothing new, so one that has not reported for <see cref="StaleAfterMilliseconds"/> counts
/// as idle (rate 0). Totals that went down (a task restarted and counts afresh) count as no progress.
/// </summary>
internal sealed class ReportRates
{
    /// <summary>Reports closer together than this keep the earlier sample: the rate spans the longer interval.</summary>
    public const long MinIntervalMilliseconds = 500;

    public const long StaleAfterMilliseconds = 3_000;

    private readonly Dictionary<(int, int), Sample> _samples = [];

    /// <summary>Takes the totals of reporter <paramref name="key"/> that arrived at <paramref name="now"/> (ms).</summary>
    public void Observe((int, int) key, long now, long recordsIn, long recordsOut, long blockedMilliseconds)
    {
        if (!_samples.TryGetValue(key, out var last))
        {
            _samples[key] = new Sample(now, recordsIn, recordsOut, blockedMilliseconds, 0, 0, 0);
            return;
        }

        var elapsed = now - last.At;
        if (elapsed < MinIntervalMilliseconds)
        {
            return;
        }

        _samples[key] = new Sample(
            now, recordsIn, recordsOut, blockedMilliseconds,
            Math.Max(0, recordsIn - last.RecordsIn) * 1000.0 / elapsed,
            Math.Max(0, recordsOut - last.RecordsOut) * 1000.0 / elapsed,
            Math.Clamp((double)(blockedMilliseconds - last.Blocked) / elapsed, 0, 1));
    }

    /// <summary>Records in and out per second, and the share of time blocked, of <paramref name="key"/> as of <paramref name="now"/>.</summary>
    public (double In, double Out, double Blocked) Of((int, int) key, long now) =>
        _samples.TryGetValue(key, out var s) && now - s.At <= StaleAfterMilliseconds ? (s.InRate, s.OutRate, s.BlockedRatio) : (0, 0, 0);

    private readonly record struct Sample(long At, long RecordsIn, long RecordsOut, long Blocked, double InRate, double OutRate, double BlockedRatio);
}
