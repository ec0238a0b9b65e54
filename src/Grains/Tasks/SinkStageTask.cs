using System.Buffers.Binary;
using Sluice.Exchange;
using Sluice.Functions;
using Sluice.Operators;

namespace Sluice.Tasks;

/// <summary>A sink task: hands records to the user's sink writer, with watermarks, checkpoints and end of input.</summary>
internal sealed class SinkStageTask<T>(ISinkFunction<T> writer, string pipelineId, int taskIndex, OperatorCounters counters, UserErrorReporter errors)
    : IStageTask, IDisposable
{
    private readonly List<PendingTransaction> _pending = [];
    private long _watermark = long.MinValue;
    private bool _finished;

    public OperatorCounters Counters => counters;

    public long? NextProcessingTime => null;

    public int StateEntries => _pending.Count;

    /// <summary>A transactional writer holds the open epoch's records: only one that can export them can move.</summary>
    public bool CanMigrate => writer is not ITransactionalSink<T> || writer is IMovableSink;

    /// <summary>The watermark, the prepared transactions not known committed, and the open epoch.</summary>
    public byte[]? ExportForMigration()
    {
        if (writer is not ITransactionalSink<T>)
        {
            writer.Flush(); // what a plain writer buffered leaves before the task moves
        }

        var pending = PendingTransactions.Write(_pending);
        var epoch = writer is IMovableSink movable ? movable.ExportOpenEpoch() : [];
        var exported = new byte[13 + pending.Length + epoch.Length];
        var span = exported.AsSpan();
        BinaryPrimitives.WriteInt64LittleEndian(span, _watermark);
        span[8] = _finished ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteInt32LittleEndian(span[9..], pending.Length);
        pending.CopyTo(span[13..]);
        epoch.CopyTo(span[(13 + pending.Length)..]);
        return exported;
    }

    public void ImportMigrated(ReadOnlyMemory<byte> exported)
    {
        var span = exported.Span;
        _watermark = BinaryPrimitives.ReadInt64LittleEndian(span);
        _finished = span[8] == 1;
        var pendingLength = BinaryPrimitives.ReadInt32LittleEndian(span[9..]);
        Restore(exported.Slice(13, pendingLength));
        var epoch = span[(13 + pendingLength)..];
        if (!epoch.IsEmpty)
        {
            ((IMovableSink)writer).ImportOpenEpoch(epoch);
        }
    }

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

    /// <summary>
    /// A plain sink flushes, so the checkpoint covers what it wrote (at least once). A transactional sink seals
    /// the epoch; its snapshot is every prepared transaction not yet known committed, so a restore can commit them.
    /// </summary>
    public Task<byte[]?> SnapshotAsync(long checkpointId)
    {
        if (writer is not ITransactionalSink<T> transactional)
        {
            writer.Flush();
            return Task.FromResult<byte[]?>(null);
        }

        var prepare = transactional.PrepareAsync(checkpointId, CancellationToken.None);
        return SnapshotPreparedAsync(checkpointId, prepare);
    }

    private async Task<byte[]?> SnapshotPreparedAsync(long checkpointId, Task<byte[]?> prepare)
    {
        if (await prepare is { } transaction)
        {
            _pending.Add(new PendingTransaction(checkpointId, transaction));
        }

        return PendingTransactions.Write(_pending);
    }

    public async Task NotifyCheckpointCompleteAsync(long checkpointId)
    {
        if (writer is not ITransactionalSink<T> transactional)
        {
            return;
        }

        // Epochs of checkpoints that failed are committed by the next one that completes: their records are in it.
        while (_pending.Count > 0 && _pending[0].CheckpointId <= checkpointId)
        {
            var next = _pending[0];
            await transactional.CommitAsync(next.CheckpointId, next.Transaction, CancellationToken.None);
            _pending.RemoveAt(0);
        }
    }

    public void Restore(ReadOnlyMemory<byte> snapshot)
    {
        _pending.Clear();
        _pending.AddRange(PendingTransactions.Read(snapshot));
    }

    /// <summary>Releases the writer (a file sink's pooled buffers); what it had not staged is replayed after a restart.</summary>
    public void Dispose() => (writer as IDisposable)?.Dispose();

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
