using System.Diagnostics.Metrics;

namespace Sluice.Benchmarks;

/// <summary>Sums one of the engine's counters (meter "Sluice") from creation on.</summary>
internal sealed class InstrumentTotal : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _total;

    public InstrumentTotal(string instrument)
    {
        _listener.InstrumentPublished = (published, listener) =>
        {
            if (published.Meter.Name == "Sluice" && published.Name == instrument)
            {
                listener.EnableMeasurementEvents(published);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _total, value));
        _listener.Start();
    }

    public long Total => Interlocked.Read(ref _total);

    public void Dispose() => _listener.Dispose();
}
