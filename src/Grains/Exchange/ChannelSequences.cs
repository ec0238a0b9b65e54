namespace Sluice.Exchange;

/// <summary>
/// Where a sender's sequence numbers start. A sender that is recreated (a grain reactivated elsewhere, a
/// source queue moved to another silo) must not restart at 1, or the receiver would drop everything it sends
/// as already seen. Starting from the wall clock in milliseconds, shifted left by 20 bits, keeps each
/// incarnation above the last one as long as fewer than a million batches per millisecond were sent and the
/// silos' clocks agree to within the time between two incarnations.
/// </summary>
internal static class ChannelSequences
{
    public static long FirstOfIncarnation() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << 20;
}
