namespace Sluice.Joins;

/// <summary>
/// What a join needs of the operator that runs it beyond a process function's context: counting the records it drops
/// as late and stamping a joined pair with its own timestamp. The process-function operator implements it; a join
/// reaches it by casting its context (no allocation per record).
/// </summary>
internal interface IJoinRuntime
{
    /// <summary>Counts a record dropped because it was behind the watermark (the stage's late-records counter).</summary>
    void CountLateRecord();

    /// <summary>Stamps what is emitted next (main and side output) with <paramref name="timestamp"/>, until the next record or timer.</summary>
    void SetOutputTimestamp(long timestamp);
}
