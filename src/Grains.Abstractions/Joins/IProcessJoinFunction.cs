using Sluice.Functions;
using Sluice.ProcessFunctions;

namespace Sluice.Joins;

/// <summary>
/// Called once per joined pair of an interval join (Flink's <c>ProcessJoinFunction</c>). The instance serves every key
/// group of a silo: it must keep no mutable fields.
/// </summary>
public interface IProcessJoinFunction<in TLeft, in TRight, out TOut>
{
    void ProcessElement(TLeft left, TRight right, IProcessJoinContext context, ICollector<TOut> output);
}

/// <summary>What an <see cref="IProcessJoinFunction{TLeft,TRight,TOut}"/> sees of a joined pair.</summary>
public interface IProcessJoinContext
{
    /// <summary>The left record's timestamp.</summary>
    long LeftTimestamp { get; }

    /// <summary>The right record's timestamp.</summary>
    long RightTimestamp { get; }

    /// <summary>The timestamp of what the function emits: the larger of the two (as in Flink).</summary>
    long Timestamp { get; }

    /// <summary>Emits <paramref name="value"/> to the side output <paramref name="tag"/>, stamped with <see cref="Timestamp"/>.</summary>
    void Output<T>(OutputTag<T> tag, T value);
}

/// <summary>Adapts <c>(left, right) =&gt; result</c> to <see cref="IProcessJoinFunction{TLeft,TRight,TOut}"/>.</summary>
internal sealed class SelectorJoinFunction<TLeft, TRight, TOut>(Func<TLeft, TRight, TOut> select) : IProcessJoinFunction<TLeft, TRight, TOut>
{
    public void ProcessElement(TLeft left, TRight right, IProcessJoinContext context, ICollector<TOut> output) => output.Collect(select(left, right));
}
