using Sluice.Exchange;
using Sluice.Operators;

namespace Sluice.Tasks;

/// <summary>
/// A key group's task: extracts each record's key and hands it to the keyed operator. A two-input stage (co-process,
/// broadcast) hands batches of its second input to <paramref name="secondInput"/>; watermarks, barriers and idleness of
/// both inputs are merged by the grain's input gate, which reads the channels of both.
/// </summary>
internal sealed class KeyedStageTask<TIn, TKey>(
    Func<TIn, TKey> keySelector,
    IKeyedOperator<TIn, TKey> keyedOperator,
    IReadOnlyList<IStageOutput> outputs,
    OperatorCounters counters,
    UserErrorReporter errors,
    ISecondInput? secondInput = null) : IStageTask
    where TKey : notnull
{
    public OperatorCounters Counters => counters;

    public QueryableState.IQueryableStates? Queries { get; init; }

    public long? NextProcessingTime => keyedOperator.NextProcessingTime;

    public int StateEntries => keyedOperator.StateEntries;

    public void Process(RecordBatch batch, int port)
    {
        if (port == 0)
        {
            Process(batch);
        }
        else
        {
            (secondInput ?? throw new InvalidOperationException($"A batch arrived on input {port} of a single-input task.")).Process(batch);
        }
    }

    public void Process(RecordBatch batch)
    {
        var typed = (RecordBatch<TIn>)batch;
        var values = typed.Values;
        var timestamps = typed.Timestamps;
        counters.RecordsIn += values.Length;
        for (var i = 0; i < values.Length; i++)
        {
            try
            {
                keyedOperator.ProcessElement(keySelector(values[i]), values[i], timestamps[i]);
            }
            catch (Exception ex)
            {
                errors.Report(ex, "processing a record");
                counters.InvalidRecords++;
            }
        }
    }

    public void OnWatermark(long watermark)
    {
        try
        {
            keyedOperator.OnWatermark(watermark);
        }
        catch (Exception ex)
        {
            errors.Report(ex, "firing event-time timers");
            counters.InvalidRecords++;
        }

        foreach (var output in outputs)
        {
            output.OnWatermark(watermark);
        }
    }

    public void OnProcessingTime(long now)
    {
        try
        {
            keyedOperator.OnProcessingTime(now);
        }
        catch (Exception ex)
        {
            errors.Report(ex, "firing processing-time timers");
            counters.InvalidRecords++;
        }
    }

    public bool CanMigrate => true;

    public Task<byte[]?> SnapshotAsync(long checkpointId) => Task.FromResult<byte[]?>(keyedOperator.Snapshot());

    public void Restore(ReadOnlyMemory<byte> snapshot) => keyedOperator.Restore(snapshot);

    public void OnIdle(bool idle)
    {
        foreach (var output in outputs)
        {
            output.OnIdle(idle);
        }
    }

    public void OnEndOfInput()
    {
        OnWatermark(long.MaxValue);
        foreach (var output in outputs)
        {
            output.OnEndOfInput();
        }
    }
}
