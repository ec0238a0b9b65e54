using Sluice.Sources;

namespace Sluice.Tests.Sources;

public sealed class BarrierPositionsTests
{
    [Fact]
    public void A_completed_checkpoint_tells_the_reader_the_newest_position_it_covers_once()
    {
        var reader = new Listener();
        var positions = new BarrierPositions(reader);
        positions.Injected(1, 10);
        positions.Injected(2, 25);
        positions.Injected(3, 40);

        positions.Completed(0);
        Assert.Empty(reader.Heard);

        // Checkpoint 1 failed, 2 completed: 2 covers 1, so only 2's position is told.
        positions.Completed(2);
        Assert.Equal([(2L, 25L)], reader.Heard);
        positions.Completed(2);
        Assert.Equal([(2L, 25L)], reader.Heard);

        positions.Completed(5);
        Assert.Equal([(2L, 25L), (3L, 40L)], reader.Heard);
    }

    [Fact]
    public void Unknown_positions_and_readers_that_do_not_listen_are_not_kept()
    {
        var reader = new Listener();
        var positions = new BarrierPositions(reader);
        positions.Injected(1, -1);
        positions.Completed(1);
        Assert.Empty(reader.Heard);

        var silent = new BarrierPositions(null);
        silent.Injected(1, 5);
        silent.Completed(1); // nothing kept, nothing to tell
    }

    private sealed class Listener : ICheckpointListeningSourceReader
    {
        public List<(long Checkpoint, long Position)> Heard { get; } = [];

        public void CheckpointCompleted(long checkpointId, long position) => Heard.Add((checkpointId, position));
    }
}
