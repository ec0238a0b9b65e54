using Sluice.Grains;
using Sluice.Pipelines;

namespace Sluice.Silo.Hosting;

/// <summary>Prints one status line per pipeline every few seconds, so a terminal shows the job is alive.</summary>
internal sealed class StatusReporter(PipelineRegistry registry, IGrainFactory grains, ILogger<StatusReporter> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private readonly Dictionary<string, long> _lastIn = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            foreach (var plan in registry.Plans)
            {
                try
                {
                    var s = await grains.GetGrain<IPipelineGrain>(plan.Id).GetStatusAsync();
                    var rate = (s.RecordsIn - _lastIn.GetValueOrDefault(plan.Id)) / Interval.TotalSeconds;
                    _lastIn[plan.Id] = s.RecordsIn;
                    var watermark = s.EventTimeWatermark is long.MinValue or long.MaxValue
                        ? "-"
                        : DateTimeOffset.FromUnixTimeMilliseconds(s.EventTimeWatermark).ToString("HH:mm:ss");
                    Console.WriteLine(
                        $"[sluice] {s.Id} {s.State} in={s.RecordsIn:N0} ({rate:N0}/s) out={s.RecordsOut:N0} watermark={watermark} " +
                        $"keyGroups={s.ActiveKeyGroups}/{s.KeyGroups} late={s.LateRecordsDropped} invalid={s.InvalidRecords} deadLetters={s.DeadLetters}");
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    logger.LogWarning(ex, "Could not read the status of pipeline {Pipeline}", plan.Id);
                }
            }
        }
    }
}
