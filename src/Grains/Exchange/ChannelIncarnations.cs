using System.Security.Cryptography;

namespace Sluice.Exchange;

/// <summary>
/// Where a sender's sequence numbers come from. Each sender (an exchange sender, a source partition's emitter) draws a
/// random 64-bit incarnation when it is created and numbers its messages 1, 2, 3... within it; a planned move carries
/// the incarnation and the numbers, so the receiver sees one unbroken sequence. Nothing here reads a clock: a silo
/// whose clock is behind starts a new incarnation like any other.
/// </summary>
internal static class ChannelIncarnations
{
    /// <summary>A new incarnation id (never 0, which a receiver uses for "none seen yet").</summary>
    public static long New()
    {
        Span<byte> bytes = stackalloc byte[sizeof(long)];
        while (true)
        {
            RandomNumberGenerator.Fill(bytes);
            var id = BitConverter.ToInt64(bytes);
            if (id != 0)
            {
                return id;
            }
        }
    }
}

/// <summary>What a receiver makes of a message on one of its channels.</summary>
internal enum ChannelVerdict
{
    /// <summary>The next message in order: process it.</summary>
    Accepted,

    /// <summary>Already seen in this incarnation (a resend after a timeout, a redelivery): drop it.</summary>
    Duplicate,

    /// <summary>From an incarnation the channel has moved on from (a replaced sender still in flight): drop it.</summary>
    Stale,

    /// <summary>
    /// Messages are missing before this one: a sequence number was skipped within an incarnation, or a new incarnation
    /// did not start at its first message. With checkpoints the task fails and the pipeline restarts from the last one.
    /// </summary>
    Gap,
}
