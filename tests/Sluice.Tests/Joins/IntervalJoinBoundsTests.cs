using Sluice.Joins;
using Sluice.Pipelines;
using Sluice.Sources;
using Sluice.State;
using Sluice.Tests.State;

namespace Sluice.Tests.Joins;

/// <summary>
/// Interval join bounds as Flink's <c>IntervalJoined</c> defines them, through the public builder: inclusive by default,
/// <c>LowerBoundExclusive()</c> / <c>UpperBoundExclusive()</c> leave out a record exactly on that bound, and bounds that
/// can join nothing are refused when the join is declared.
/// </summary>
public sealed class IntervalJoinBoundsTests
{
    [Theory]
    [InlineData(false, false, new[] { 0, 5, 10 })]
    [InlineData(true, false, new[] { 5, 10 })]
    [InlineData(false, true, new[] { 0, 5 })]
    [InlineData(true, true, new[] { 5 })]
    public void Bounds_are_inclusive_unless_made_exclusive(bool lowerExclusive, bool upperExclusive, int[] joinedOffsets)
    {
        var joined = Declare(0, 10, lowerExclusive, upperExclusive);
        // A left record at 100 and right records exactly on the lower bound, inside, on the upper bound, and outside.
        List<Step> steps =
        [
            new(StepKind.Left, new Side("k", 1, 100), 100),
            .. new[] { -1, 0, 5, 10, 11 }.Select(d => new Step(StepKind.Right, new Side("k", 10 + d + 1, 100 + d), 100 + d)),
            new(StepKind.Watermark, default, 200),
        ];

        var run = JoinOperatorHarness.Execute(StateBackend.Heap, joined.CreateFunction, steps, checkpointAt: 0, replayFrom: 0);

        var expected = joinedOffsets.Select(d => (new Pair("k", 1, 10 + d + 1, 100 + d), 100L + d).ToString()).Order(StringComparer.Ordinal);
        Assert.Equal(expected, run.Output);
    }

    [Fact]
    public void Negative_bounds_join_right_records_before_the_left_one()
    {
        var joined = Declare(-10, -5, lowerExclusive: false, upperExclusive: true);
        List<Step> steps =
        [
            new(StepKind.Right, new Side("k", 2, 90), 90),
            new(StepKind.Right, new Side("k", 3, 95), 95),
            new(StepKind.Left, new Side("k", 1, 100), 100),
            new(StepKind.Watermark, default, 200),
        ];

        var run = JoinOperatorHarness.Execute(StateBackend.Heap, joined.CreateFunction, steps, checkpointAt: 0, replayFrom: 0);

        Assert.Equal([(new Pair("k", 1, 2, 100), 100L).ToString()], run.Output);
    }

    [Theory]
    [InlineData(5, 5, true, false)]
    [InlineData(5, 5, false, true)]
    [InlineData(5, 6, true, true)]
    public void Bounds_that_leave_no_interval_are_refused_when_declared(long lower, long upper, bool lowerExclusive, bool upperExclusive)
    {
        var error = Assert.Throws<ArgumentException>(() => Declare(lower, upper, lowerExclusive, upperExclusive));
        Assert.Contains("joins nothing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_lower_bound_above_the_upper_one_is_refused() =>
        Assert.Throws<ArgumentException>(() => Declare(10, 0, false, false));

    private static CoProcessNode<Side, Side, string, Pair> Declare(long lower, long upper, bool lowerExclusive, bool upperExclusive)
    {
        var pipeline = Pipeline.Create("bounds");
        var left = pipeline.From(new InMemorySource<Side>("l", 1)).KeyBy(s => s.Key);
        var right = pipeline.From(new InMemorySource<Side>("r", 1)).KeyBy(s => s.Key);
        var joined = left.IntervalJoin(right).Between(TimeSpan.FromMilliseconds(lower), TimeSpan.FromMilliseconds(upper));
        if (lowerExclusive)
        {
            joined = joined.LowerBoundExclusive();
        }

        if (upperExclusive)
        {
            joined = joined.UpperBoundExclusive();
        }

        return (CoProcessNode<Side, Side, string, Pair>)joined.Process((l, r) => new Pair(l.Key, l.Id, r.Id, Math.Max(l.Ts, r.Ts))).Node;
    }
}
