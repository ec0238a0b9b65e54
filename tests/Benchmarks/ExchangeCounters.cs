namespace Sluice.Benchmarks;

/// <summary>Listens to the engine's exchange counters (batches and bare-watermark control messages) during a run.</summary>
internal sealed class ExchangeCounters : IDisposable
{
    private readonly InstrumentTotal _batches = new("sluice.exchange.batches");
    private readonly InstrumentTotal _bareWatermarks = new("sluice.exchange.watermarks");

    public long Batches => _batches.Total;

    public long BareWatermarks => _bareWatermarks.Total;

    public void Dispose()
    {
        _batches.Dispose();
        _bareWatermarks.Dispose();
    }
}
