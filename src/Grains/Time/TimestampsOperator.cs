using Sluice.Operators;
using Sluice.Time;

namespace Sluice.Time;

/// <summary>
/// Stamps each record with its event time and feeds the partition's watermark generator
/// (Flink's <c>TimestampsAndWatermarksOperator</c>). Lives in a source partition's chain.
/// </summary>
internal sealed class TimestampsOperator<T>(Func<T, long> extractor, IWatermarkGenerator<T> generator, PartitionWatermark watermark, IRecordSink<T> next)
    : IRecordSink<T>
{
    public void Push(T value, long timestamp)
    {
        var eventTime = extractor(value);
        generator.OnEvent(value, eventTime, watermark);
        next.Push(value, eventTime);
    }

    public void EmitPeriodic() => generator.OnPeriodicEmit(watermark);
}

/// <summary>
/// The watermark of one source partition: the largest watermark emitted so far (never goes back), and
/// whether the generator declared the partition idle.
/// </summary>
internal sealed class PartitionWatermark : IWatermarkOutput
{
    public long Current { get; private set; } = long.MinValue;

    public bool GeneratorIdle { get; private set; }

    public void EmitWatermark(long watermark)
    {
        GeneratorIdle = false;
        if (watermark > Current)
        {
            Current = watermark;
        }
    }

    public void MarkIdle() => GeneratorIdle = true;

    public void MarkActive() => GeneratorIdle = false;
}
