using Sluice.Windows;

namespace Sluice.Tests.Windows;

public sealed class WindowAssignerTests
{
    [Theory]
    [InlineData(0, 0, 10)]
    [InlineData(9, 0, 10)]
    [InlineData(10, 10, 20)]
    [InlineData(-1, -10, 0)]
    [InlineData(-10, -10, 0)]
    [InlineData(-11, -20, -10)]
    public void Tumbling_windows_are_half_open_and_aligned_like_flink(long timestamp, long start, long end)
    {
        Span<TimeWindow> windows = stackalloc TimeWindow[1];
        var count = Tumbling.Of(TimeSpan.FromMilliseconds(10)).AssignWindows(timestamp, 0, windows);
        Assert.Equal(1, count);
        Assert.Equal(new TimeWindow(start, end), windows[0]);
        Assert.Equal(end - 1, windows[0].MaxTimestamp);
    }

    [Fact]
    public void Tumbling_offset_shifts_window_starts()
    {
        Span<TimeWindow> windows = stackalloc TimeWindow[1];
        Tumbling.Of(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(3)).AssignWindows(12, 0, windows);
        Assert.Equal(new TimeWindow(3, 13), windows[0]);
    }

    [Fact]
    public void Sliding_windows_cover_every_window_containing_the_timestamp()
    {
        var sliding = Sliding.Of(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(3));
        var windows = new TimeWindow[sliding.MaxWindowsPerRecord];
        var count = sliding.AssignWindows(7, 0, windows);
        var expected = Enumerable.Range(-10, 30)
            .Where(start => start % 3 == 0 && start <= 7 && 7 < start + 10)
            .Select(start => new TimeWindow(start, start + 10))
            .ToHashSet();
        Assert.Equal(expected, windows.Take(count).ToHashSet());
    }

    [Fact]
    public void Invalid_window_sizes_are_rejected_with_a_message()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Tumbling.Of(TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sliding.Of(TimeSpan.FromSeconds(1), TimeSpan.Zero));
    }
}
