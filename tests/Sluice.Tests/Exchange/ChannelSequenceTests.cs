using Sluice.Exchange;

namespace Sluice.Tests.Exchange;

/// <summary>
/// How an input gate places a message in its channel's sequence: senders number from 1 within a random incarnation,
/// so a sender re-created on a silo whose clock is behind is not mistaken for an old one, and a message that never
/// arrived shows up as a gap instead of being skipped silently.
/// </summary>
public sealed class ChannelSequenceTests
{
    private const long First = 0x1111;
    private const long Second = 0x2222;

    private static ChannelBatch Batch(long incarnation, long sequence, int channel = 0) =>
        new(channel, sequence, watermark: 0, ChannelFlags.None, records: null, incarnation: incarnation);

    [Fact]
    public void Messages_in_order_are_accepted_and_a_resent_one_is_a_duplicate()
    {
        var gate = new InputGate([0]);
        Assert.Equal(ChannelVerdict.Accepted, gate.Classify(Batch(First, 1)));
        Assert.Equal(ChannelVerdict.Accepted, gate.Classify(Batch(First, 2)));
        Assert.Equal(ChannelVerdict.Duplicate, gate.Classify(Batch(First, 2)));
        Assert.Equal(ChannelVerdict.Duplicate, gate.Classify(Batch(First, 1)));
        Assert.Equal(ChannelVerdict.Accepted, gate.Classify(Batch(First, 3)));
        Assert.Equal(2, gate.DuplicatesDropped);
        Assert.Equal(0, gate.Gaps);
    }

    [Fact]
    public void A_sender_re_created_on_a_silo_whose_clock_is_behind_is_accepted_from_its_first_batch()
    {
        // The first incarnation ran long (or on a silo whose clock ran ahead): its numbers are high. The re-created
        // sender starts again at 1; under a clock-based start its numbers would have been lower, and all dropped.
        var gate = new InputGate([0]);
        Assert.Equal(ChannelVerdict.Accepted, gate.Classify(Batch(First, 1)));
        for (var sequence = 2; sequence <= 1_000; sequence++)
        {
            Assert.Equal(ChannelVerdict.Accepted, gate.Classify(Batch(First, sequence)));
        }

        var recreated = new List<ChannelVerdict>();
        for (var sequence = 1; sequence <= 5; sequence++)
        {
            recreated.Add(gate.Classify(Batch(Second, sequence)));
        }

        Assert.All(recreated, v => Assert.Equal(ChannelVerdict.Accepted, v));
        Assert.Equal(0, gate.DuplicatesDropped);
    }

    [Fact]
    public void Messages_of_a_replaced_incarnation_are_stale()
    {
        var gate = new InputGate([0]);
        gate.Classify(Batch(First, 1));
        gate.Classify(Batch(First, 2));
        Assert.Equal(ChannelVerdict.Accepted, gate.Classify(Batch(Second, 1)));
        Assert.Equal(ChannelVerdict.Stale, gate.Classify(Batch(First, 3)));
        Assert.Equal(ChannelVerdict.Accepted, gate.Classify(Batch(Second, 2)));
        Assert.Equal(1, gate.DuplicatesDropped);
    }

    [Fact]
    public void A_skipped_sequence_number_is_a_gap_and_the_channel_continues_after_it()
    {
        var gate = new InputGate([0, 1]);
        gate.Classify(Batch(First, 1));
        gate.Classify(Batch(First, 2));
        Assert.Equal(ChannelVerdict.Gap, gate.Classify(Batch(First, 4)));
        Assert.Equal(ChannelVerdict.Duplicate, gate.Classify(Batch(First, 3)));
        Assert.Equal(ChannelVerdict.Accepted, gate.Classify(Batch(First, 5)));
        Assert.Equal(1, gate.Gaps);
    }

    [Fact]
    public void A_new_incarnation_that_does_not_start_at_its_first_batch_is_a_gap()
    {
        var gate = new InputGate([0, 1]);
        gate.Classify(Batch(First, 1));
        Assert.Equal(ChannelVerdict.Gap, gate.Classify(Batch(Second, 3)));
        // A channel that has seen nothing expects a first batch too.
        Assert.Equal(ChannelVerdict.Gap, gate.Classify(Batch(First, 7, channel: 1)));
        Assert.Equal(2, gate.Gaps);
    }

    [Fact]
    public void A_migrated_gate_keeps_incarnations_sequences_and_replaced_incarnations()
    {
        var gate = new InputGate([0, 1]);
        gate.Classify(Batch(First, 1));
        gate.Classify(Batch(Second, 1));
        gate.Classify(Batch(Second, 2));
        gate.Classify(Batch(First, 1, channel: 1));

        var moved = new InputGate([0, 1]);
        moved.Import(gate.Export());
        Assert.Equal(ChannelVerdict.Duplicate, moved.Classify(Batch(Second, 2)));
        Assert.Equal(ChannelVerdict.Stale, moved.Classify(Batch(First, 2)));
        Assert.Equal(ChannelVerdict.Accepted, moved.Classify(Batch(Second, 3)));
        Assert.Equal(ChannelVerdict.Accepted, moved.Classify(Batch(First, 2, channel: 1)));
    }

    [Fact]
    public void Incarnations_are_random_and_never_zero()
    {
        var seen = new HashSet<long>();
        for (var i = 0; i < 1_000; i++)
        {
            var id = ChannelIncarnations.New();
            Assert.NotEqual(0, id);
            Assert.True(seen.Add(id));
        }
    }
}
