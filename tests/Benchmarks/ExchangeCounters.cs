using System.Diagnostics.Metrics;

namespace Sluice.Benchmarks;

/// <summary>Listens to the engine's exchange counters (batches and bare-watermark control messages) during a run.</summary>
internal sealed class ExchangeCounters : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _batches;
    private long _bareWatermarks;

    public ExchangeCounters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Sluice" && instrument.Name is "sluice.exchange.batches" or "sluice.exchange.watermarks")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "sluice.exchange.batches")
            {
                Interlocked.Add(ref _batches, value);
            }
            else
            {
                Interlocked.Add(ref _bareWatermarks, value);
            }
        });
        _listener.Start();
    }

    public long Batches => Interlocked.Read(ref _batches);

    public long BareWatermarks => Interlocked.Read(ref _bareWatermarks);

    public void Dispose() => _listener.Dispose();
}
