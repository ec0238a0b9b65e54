using Sluice.Exchange;
using Sluice.Operators;

namespace Sluice.Tasks;

/// <summary>How a two-input keyed task handles batches of its second input (port 1).</summary>
internal interface ISecondInput
{
    void Process(RecordBatch batch);
}

/// <summary>A second keyed input: each record's key from its own selector, then the operator's second input.</summary>
internal sealed class KeyedSecondInput<TIn2, TKey>(
    Func<TIn2, TKey> keySelector,
    IKeyedSecondInputOperator<TIn2, TKey> keyedOperator,
    OperatorCounters counters,
    UserErrorReporter errors) : ISecondInput
    where TKey : notnull
{
    public void Process(RecordBatch batch)
    {
        var typed = (RecordBatch<TIn2>)batch;
        var values = typed.Values;
        var timestamps = typed.Timestamps;
        counters.RecordsIn += values.Length;
        for (var i = 0; i < values.Length; i++)
        {
            try
            {
                keyedOperator.ProcessElement2(keySelector(values[i]), values[i], timestamps[i]);
            }
            catch (Exception ex)
            {
                errors.Report(ex, "processing a record of the second input");
                counters.InvalidRecords++;
            }
        }
    }
}

/// <summary>A broadcast input: every record to the operator, which has no key for it.</summary>
internal sealed class BroadcastSecondInput<TBroadcast>(
    IBroadcastInputOperator<TBroadcast> broadcastOperator,
    OperatorCounters counters,
    UserErrorReporter errors) : ISecondInput
{
    public void Process(RecordBatch batch)
    {
        var typed = (RecordBatch<TBroadcast>)batch;
        var values = typed.Values;
        var timestamps = typed.Timestamps;
        counters.RecordsIn += values.Length;
        for (var i = 0; i < values.Length; i++)
        {
            try
            {
                broadcastOperator.ProcessBroadcastElement(values[i], timestamps[i]);
            }
            catch (Exception ex)
            {
                errors.Report(ex, "processing a broadcast record");
                counters.InvalidRecords++;
            }
        }
    }
}
