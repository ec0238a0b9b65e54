namespace Sluice.Operators;

/// <summary>The second keyed input of a two-input keyed operator (a co-process function's <c>ProcessElement2</c>).</summary>
internal interface IKeyedSecondInputOperator<in TIn2, in TKey>
{
    void ProcessElement2(TKey key, TIn2 value, long timestamp);
}

/// <summary>The broadcast input of a keyed operator: records with no key, seen by every key group.</summary>
internal interface IBroadcastInputOperator<in TBroadcast>
{
    void ProcessBroadcastElement(TBroadcast value, long timestamp);
}
