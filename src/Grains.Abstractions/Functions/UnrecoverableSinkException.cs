namespace Sluice.Functions;

/// <summary>
/// Thrown by a transactional sink when retrying can never succeed: an epoch's commit finds its staged output gone, or a
/// transaction handle that belongs to another store. A commit that throws anything else is retried (with the next
/// completed checkpoint, and on restore); one that throws this fails the pipeline at once with its message, instead of
/// holding back every later epoch of the sink task while the pipeline looks healthy.
/// </summary>
public class UnrecoverableSinkException : Exception
{
    public UnrecoverableSinkException(string message)
        : base(message)
    {
    }

    public UnrecoverableSinkException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
