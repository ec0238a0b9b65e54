namespace Sluice.Tests.Chaos;

/// <summary>The chaos test's judge on its own: it must name each kind of difference, and accept an exact output.</summary>
public sealed class WindowCountComparisonTests
{
    private const long Window = 1_000;

    [Fact]
    public void Oracle_counts_events_per_key_and_window()
    {
        var counts = WindowCountOracle.Count([new ChaosEvent(0, "a", 999), new ChaosEvent(1, "a", 1_000), new ChaosEvent(2, "a", 1_999), new ChaosEvent(3, "b", 5)], Window);

        Assert.Equal(3, counts.Count);
        Assert.Equal(1, counts[("a", 0)]);
        Assert.Equal(2, counts[("a", 1_000)]);
        Assert.Equal(1, counts[("b", 0)]);
    }

    [Fact]
    public void Exact_output_passes_and_end_markers_are_ignored()
    {
        var expected = new Dictionary<(string, long), long> { [("a", 0)] = 2, [("b", 1_000)] = 1 };
        var comparison = new WindowCountComparison(
            expected,
            [Line("a", 0, 2), Line("b", 1_000, 1), Line(ChaosProducer.EndKey, 9_000, 6)],
            Window);

        Assert.True(comparison.Exact, comparison.ToString());
        Assert.Equal(2, comparison.Covered);
    }

    [Fact]
    public void Duplicates_losses_wrong_counts_and_strangers_are_each_reported()
    {
        var expected = new Dictionary<(string, long), long> { [("a", 0)] = 2, [("b", 0)] = 1, [("c", 0)] = 4, [("d", 0)] = 1 };
        var comparison = new WindowCountComparison(
            expected,
            [Line("a", 0, 2), Line("a", 0, 2), Line("c", 0, 3), Line("d", 0, 1, end: 500), Line("e", 0, 1)],
            Window);

        Assert.False(comparison.Exact);
        Assert.Single(comparison.Duplicated);
        Assert.Contains("b [0, 1000) expected 1", comparison.Missing);
        Assert.Single(comparison.WrongCount);
        Assert.Single(comparison.Unexpected);
        Assert.Single(comparison.WrongEnd);
        Assert.Equal(3, comparison.Covered);
    }

    [Fact]
    public void Checkpoint_is_read_from_the_part_file_name()
    {
        Assert.Equal(42, CommittedOutput.CheckpointOf("counts/part-0001-0000000042.jsonl"));
        Assert.Equal(-1, CommittedOutput.CheckpointOf("counts/readme.txt"));
    }

    private static (ChaosWindowCount, string) Line(string key, long start, long count, long? end = null) =>
        (new ChaosWindowCount(key, start, end ?? start + Window, count), "part-0000-0000000001.jsonl");
}
