using Sluice.ProcessFunctions;

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

/// <summary>What every join does with a record it finds late.</summary>
internal static class LateJoinRecords
{
    /// <summary>Counts <paramref name="value"/> as late and sends it to <paramref name="tag"/> when there is one (else it is dropped).</summary>
    public static void Drop<TKey, T>(IKeyedProcessContext<TKey> ctx, OutputTag<T>? tag, T value)
        where TKey : notnull
    {
        ((IJoinRuntime)ctx).CountLateRecord();
        if (tag is not null)
        {
            ctx.Output(tag, value);
        }
    }
}
