using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Sluice.Diagnostics;

/// <summary>
/// The pipelines whose reports this silo holds (their pipeline grains are active here), read by the observable
/// gauges of <see cref="SluiceInstruments"/> when a metrics reader collects. A pipeline grain that moves away removes
/// its entry, so every series is reported by one silo.
/// </summary>
internal static class PipelineGauges
{
    private static readonly ConcurrentDictionary<string, PipelineMetrics> Pipelines = new(StringComparer.Ordinal);

    public static void Add(PipelineMetrics metrics) => Pipelines[metrics.PipelineId] = metrics;

    public static void Remove(PipelineMetrics metrics) => Pipelines.TryRemove(new KeyValuePair<string, PipelineMetrics>(metrics.PipelineId, metrics));

    internal static IEnumerable<Measurement<long>> WatermarkLag()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var list = new List<Measurement<long>>();
        foreach (var metrics in Pipelines.Values)
        {
            metrics.ObserveWatermarkLag(now, list);
        }

        return list;
    }

    internal static IEnumerable<Measurement<long>> StateEntries()
    {
        var list = new List<Measurement<long>>();
        foreach (var metrics in Pipelines.Values)
        {
            metrics.ObserveStateEntries(list);
        }

        return list;
    }

    internal static IEnumerable<Measurement<long>> ConsumerLag()
    {
        var list = new List<Measurement<long>>();
        foreach (var metrics in Pipelines.Values)
        {
            metrics.ObserveConsumerLag(list);
        }

        return list;
    }
}
