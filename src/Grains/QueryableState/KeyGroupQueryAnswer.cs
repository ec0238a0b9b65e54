namespace Sluice.QueryableState;

/// <summary>
/// A key group's answer to a live state query: per key whether it has a value and the value, the task's watermark, and
/// the attempt whose state it read (checked against the coordinator's current attempt, see <see cref="QueryFence"/>).
/// </summary>
[GenerateSerializer, Immutable]
internal sealed record KeyGroupQueryAnswer(
    [property: Id(0)] bool[] Found,
    [property: Id(1)] object?[] Values,
    [property: Id(2)] long Watermark,
    [property: Id(3)] long Attempt);

/// <summary>
/// The coordinator's side of a query answer, asked after the key groups answered: the attempt running then, whether it is
/// ending (a restart is on its way: it waits out its backoff), and the newest completed checkpoint. Attempts only grow,
/// and an attempt that is ending never runs on, so a key group that answered in an attempt running and not ending when
/// the fence was read had state no restart rolls back. Any other answer read state a restart is about to replace.
/// </summary>
[GenerateSerializer, Immutable]
internal sealed record QueryFence([property: Id(0)] long Attempt, [property: Id(1)] long LastCompletedCheckpoint, [property: Id(2)] bool Ending);
