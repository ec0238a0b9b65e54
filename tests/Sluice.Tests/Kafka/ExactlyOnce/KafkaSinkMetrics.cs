using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Sluice.Tests.Kafka.ExactlyOnce;

/// <summary>Listens to the Kafka sink's instruments on Sluice's meter, keeping only what one pipeline records (tests run in parallel).</summary>
internal sealed class KafkaSinkMetrics : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, double> _sums = new();
    private readonly ConcurrentDictionary<string, int> _counts = new();

    public KafkaSinkMetrics(string pipeline)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Sluice" && instrument.Name.StartsWith("sluice.kafka.sink.", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags, pipeline));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags, pipeline));
        _listener.Start();
    }

    public double Sum(string instrument) => _sums.GetValueOrDefault(instrument);

    public int Count(string instrument) => _counts.GetValueOrDefault(instrument);

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, string pipeline)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "pipeline" && (string?)tag.Value == pipeline)
            {
                _sums.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value);
                _counts.AddOrUpdate(instrument.Name, 1, (_, count) => count + 1);
                return;
            }
        }
    }
}
