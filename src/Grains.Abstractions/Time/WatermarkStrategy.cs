namespace Sluice.Time;

/// <summary>
/// How a source partition turns record timestamps into watermarks, and when it counts as idle
/// (Flink's <c>WatermarkStrategy</c>). Pass it to <c>DataStream.WithTimestamps</c>.
/// </summary>
public abstract class WatermarkStrategy
{
    /// <summary>
    /// A partition with no lag that has been silent this long stops holding the watermark back.
    /// Null: never idle.
    /// </summary>
    public TimeSpan? IdleTimeout { get; private set; }

    /// <summary>Bounded out-of-orderness: the watermark trails the largest timestamp seen by <paramref name="maxOutOfOrderness"/>.</summary>
    public static WatermarkStrategy BoundedOutOfOrderness(TimeSpan maxOutOfOrderness) =>
        maxOutOfOrderness < TimeSpan.Zero
            ? throw new ArgumentOutOfRangeException(nameof(maxOutOfOrderness), maxOutOfOrderness, "The out-of-orderness bound cannot be negative.")
            : new BoundedStrategy((long)maxOutOfOrderness.TotalMilliseconds);

    /// <summary>Timestamps only ever grow within a partition.</summary>
    public static WatermarkStrategy ForMonotonousTimestamps() => new BoundedStrategy(0);

    /// <summary>A custom periodic or punctuated generator, created once per source partition.</summary>
    public static WatermarkStrategy ForGenerator<T>(Func<IWatermarkGenerator<T>> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return new CustomStrategy<T>(factory);
    }

    /// <summary>Same strategy, with partitions declared idle after <paramref name="idleTimeout"/> of silence while caught up.</summary>
    public WatermarkStrategy WithIdleness(TimeSpan idleTimeout)
    {
        if (idleTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(idleTimeout), idleTimeout, "The idle timeout must be positive.");
        }

        var copy = (WatermarkStrategy)MemberwiseClone();
        copy.IdleTimeout = idleTimeout;
        return copy;
    }

    /// <summary>Creates the generator for one partition of a stream of <typeparamref name="T"/>.</summary>
    public abstract IWatermarkGenerator<T> CreateGenerator<T>();

    private sealed class BoundedStrategy(long boundMilliseconds) : WatermarkStrategy
    {
        public override IWatermarkGenerator<T> CreateGenerator<T>() => new BoundedOutOfOrdernessGenerator<T>(boundMilliseconds);

        public override string ToString() => $"BoundedOutOfOrderness({boundMilliseconds} ms)";
    }

    private sealed class CustomStrategy<TRecord>(Func<IWatermarkGenerator<TRecord>> factory) : WatermarkStrategy
    {
        public override IWatermarkGenerator<T> CreateGenerator<T>() =>
            factory() as IWatermarkGenerator<T>
            ?? throw new InvalidOperationException(
                $"The watermark generator was written for {typeof(TRecord).Name} records but the stream carries {typeof(T).Name}.");
    }
}
