using Sluice.Exchange;
using Sluice.Functions;
using Sluice.Operators;

namespace Sluice.Tasks;

/// <summary>A sink task: hands records to the user's sink writer, with watermarks and end of input.</summary>
internal sealed class SinkStageTask<T>(ISinkFunction<T> writer, string pipelineId, int taskIndex, OperatorCounters counters, UserErrorReporter errors)
    : IStageTask
{
    private long _watermark = long.MinValue;
    private bool _finished;

    public OperatorCounters Counters => counters;

    public long? NextProcessingTime => null;

    public int StateEntries => 0;

    public void Process(RecordBatch batch)
    {
        var typed = (RecordBatch<T>)batch;
        counters.RecordsIn += typed.Count;
        for (var i = 0; i < typed.Values.Length; i++)
        {
            try
            {
                writer.Write(typed.Values[i], new SinkContext(pipelineId, taskIndex, typed.Timestamps[i], _watermark));
                counters.RecordsOut++;
            }
            catch (Exception ex)
            {
                counters.InvalidRecords++;
                errors.Report(ex, "writing a record");
            }
        }
    }

    public void OnWatermark(long watermark)
    {
        _watermark = watermark;
        try
        {
            writer.OnWatermark(watermark);
        }
        catch (Exception ex)
        {
            errors.Report(ex, "advancing the sink's watermark");
        }
    }

    public void OnProcessingTime(long now)
    {
    }

    public void OnIdle(bool idle)
    {
    }

    /// <summary>A sink keeps no state in the checkpoint; it flushes, so the checkpoint covers what it wrote.</summary>
    public byte[]? Snapshot()
    {
        writer.Flush();
        return null;
    }

    public void Restore(ReadOnlyMemory<byte> snapshot)
    {
    }

    public void OnEndOfInput()
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        OnWatermark(long.MaxValue);
        try
        {
            writer.Finish();
        }
        catch (Exception ex)
        {
            errors.Report(ex, "finishing the sink");
        }
    }
}
