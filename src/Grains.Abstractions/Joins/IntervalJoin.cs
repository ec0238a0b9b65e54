using Sluice.Pipelines;
using Sluice.ProcessFunctions;

namespace Sluice.Joins;

/// <summary>
/// Two keyed streams about to be interval-joined (Flink's <c>KeyedStream.IntervalJoin</c>): give the bounds with
/// <see cref="Between"/>. Built with <c>left.KeyBy(k).IntervalJoin(right.KeyBy(k))</c>.
/// </summary>
public sealed class IntervalJoin<TLeft, TRight, TKey>
    where TKey : notnull
{
    private readonly KeyByNode<TLeft, TKey> _left;
    private readonly KeyByNode<TRight, TKey> _right;

    internal IntervalJoin(KeyByNode<TLeft, TKey> left, KeyByNode<TRight, TKey> right)
    {
        if (left.Pipeline != right.Pipeline)
        {
            throw new InvalidOperationException($"An interval join needs both streams in one pipeline; the right one belongs to '{right.Pipeline.Id}', not '{left.Pipeline.Id}'.");
        }

        if (left.MaxParallelism != right.MaxParallelism)
        {
            throw new InvalidOperationException(
                $"An interval join needs both streams keyed into the same number of key groups; KeyBy maxParallelism is {left.MaxParallelism} on the left and {right.MaxParallelism} on the right.");
        }

        _left = left;
        _right = right;
    }

    /// <summary>
    /// Joins a left record at <c>l</c> with every right record of its key at <c>r</c> where
    /// <c>l + lower &lt;= r &lt;= l + upper</c> (bounds inclusive unless made exclusive). Either bound may be negative.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="lower"/> is greater than <paramref name="upper"/>.</exception>
    public IntervalJoined<TLeft, TRight, TKey> Between(TimeSpan lower, TimeSpan upper)
    {
        if (lower > upper)
        {
            throw new ArgumentException($"Between(lower, upper) needs lower <= upper; got lower {lower} and upper {upper}.", nameof(lower));
        }

        return new IntervalJoined<TLeft, TRight, TKey>(_left, _right, (long)lower.TotalMilliseconds, (long)upper.TotalMilliseconds);
    }
}

/// <summary>An interval join with its bounds (Flink's <c>IntervalJoined</c>): choose bound exclusivity and late outputs, then <c>Process</c>.</summary>
public sealed class IntervalJoined<TLeft, TRight, TKey>
    where TKey : notnull
{
    private readonly KeyByNode<TLeft, TKey> _left;
    private readonly KeyByNode<TRight, TKey> _right;
    private readonly long _lower;
    private readonly long _upper;
    private bool _lowerExclusive;
    private bool _upperExclusive;
    private OutputTag<TLeft>? _leftLate;
    private OutputTag<TRight>? _rightLate;

    internal IntervalJoined(KeyByNode<TLeft, TKey> left, KeyByNode<TRight, TKey> right, long lower, long upper)
    {
        _left = left;
        _right = right;
        _lower = lower;
        _upper = upper;
    }

    /// <summary>A right record exactly at <c>l + lower</c> does not join.</summary>
    public IntervalJoined<TLeft, TRight, TKey> LowerBoundExclusive()
    {
        _lowerExclusive = true;
        return this;
    }

    /// <summary>A right record exactly at <c>l + upper</c> does not join.</summary>
    public IntervalJoined<TLeft, TRight, TKey> UpperBoundExclusive()
    {
        _upperExclusive = true;
        return this;
    }

    /// <summary>Left records that arrive behind the watermark go to <paramref name="tag"/> (they are dropped and counted either way).</summary>
    public IntervalJoined<TLeft, TRight, TKey> SideOutputLeftLateData(OutputTag<TLeft> tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        _leftLate = tag;
        return this;
    }

    /// <summary>Right records that arrive behind the watermark go to <paramref name="tag"/>.</summary>
    public IntervalJoined<TLeft, TRight, TKey> SideOutputRightLateData(OutputTag<TRight> tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        _rightLate = tag;
        return this;
    }

    /// <summary>Emits <paramref name="select"/> of every joined pair, stamped with the larger of the two timestamps.</summary>
    public DataStream<TOut> Process<TOut>(Func<TLeft, TRight, TOut> select, string name = "interval-join")
    {
        ArgumentNullException.ThrowIfNull(select);
        return Process(new SelectorJoinFunction<TLeft, TRight, TOut>(select), name);
    }

    /// <summary>Calls <paramref name="function"/> for every joined pair; its side outputs are read with <c>SideOutput(tag)</c> on the result.</summary>
    /// <exception cref="ArgumentException">The exclusive bounds leave an empty interval.</exception>
    public DataStream<TOut> Process<TOut>(IProcessJoinFunction<TLeft, TRight, TOut> function, string name = "interval-join")
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var lower = _lowerExclusive ? Saturating.Add(_lower, 1) : _lower;
        var upper = _upperExclusive ? Saturating.Subtract(_upper, 1) : _upper;
        if (lower > upper)
        {
            throw new ArgumentException(
                $"Interval join '{name}': Between({_lower} ms, {_upper} ms) with {(_lowerExclusive ? "an exclusive" : "an inclusive")} lower and "
                + $"{(_upperExclusive ? "an exclusive" : "an inclusive")} upper bound joins nothing.", nameof(function));
        }

        var (leftLate, rightLate) = (_leftLate, _rightLate);
        return new DataStream<TOut>(new CoProcessNode<TLeft, TRight, TKey, TOut>(
            _left.Pipeline, _left, _right, name,
            () => new IntervalJoinFunction<TKey, TLeft, TRight, TOut>(function, lower, upper, leftLate, rightLate)));
    }
}
