namespace Sluice.Time;

/// <summary>Where a watermark generator reports progress (Flink's <c>WatermarkOutput</c>).</summary>
public interface IWatermarkOutput
{
    /// <summary>Announces that no record with a timestamp at or below <paramref name="watermark"/> will follow.</summary>
    void EmitWatermark(long watermark);

    /// <summary>Declares the partition idle until its next record, so it stops holding the watermark back.</summary>
    void MarkIdle();
}

/// <summary>
/// Generates watermarks for one source partition (Flink's <c>WatermarkGenerator</c>): punctuated generators
/// emit from <see cref="OnEvent"/>, periodic ones from <see cref="OnPeriodicEmit"/>.
/// </summary>
public interface IWatermarkGenerator<in T>
{
    void OnEvent(T value, long timestamp, IWatermarkOutput output);

    void OnPeriodicEmit(IWatermarkOutput output);
}

/// <summary>Flink's <c>BoundedOutOfOrdernessWatermarks</c>: emits <c>maxTimestamp - bound - 1</c>.</summary>
public sealed class BoundedOutOfOrdernessGenerator<T> : IWatermarkGenerator<T>
{
    private readonly long _bound;
    private long _maxTimestamp;

    public BoundedOutOfOrdernessGenerator(long boundMilliseconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(boundMilliseconds);
        _bound = boundMilliseconds;
        // Start so that the first periodic emit yields long.MinValue rather than overflowing.
        _maxTimestamp = long.MinValue + _bound + 1;
    }

    public void OnEvent(T value, long timestamp, IWatermarkOutput output)
    {
        if (timestamp > _maxTimestamp)
        {
            _maxTimestamp = timestamp;
        }
    }

    public void OnPeriodicEmit(IWatermarkOutput output) => output.EmitWatermark(_maxTimestamp - _bound - 1);
}
