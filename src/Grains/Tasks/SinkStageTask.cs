using System.Buffers.Binary;
using Sluice.Exchange;
using Sluice.Functions;
using Sluice.Operators;

namespace Sluice.Tasks;

/// <summary>
/// A sink task: hands records to the user's sink writer, with watermarks, checkpoints and end of input.
/// <paramref name="createWriter"/> makes a writer for another task index of the same sink: what commits the pending epochs
/// this task adopted from tasks that no longer exist (the sink's parallelism was lowered).
/// </summary>
internal sealed class SinkStageTask<T>(
    ISinkFunction<T> writer, Func<int, ISinkFunction<T>> createWriter, string pipelineId, int taskIndex, OperatorCounters counters, UserErrorReporter errors)
    : IStageTask, IDisposable
{
    // Epochs sealed at a barrier and not yet known committed, in checkpoint order (the order of their barriers). Each
    // holds its staging task from the moment the epoch is sealed, so nothing can be snapshotted, moved or committed
    // out of order or without it.
    private readonly List<SealedEpoch> _pending = [];
    private long _watermark = long.MinValue;
    private bool _finished;

    // Set by a restore from a checkpoint: the first commit after it first discards what the task's earlier writers kept
    // beside the checkpoint for epochs the restored state does not hold (they will never be committed).
    private bool _discardAfterRestore;
    private List<int>? _adopted;

    public OperatorCounters Counters => counters;

    public long? NextProcessingTime => null;

    public int StateEntries => _pending.Count;

    /// <summary>
    /// A transactional writer holds the open epoch's records: only one that can export them can move, and only once every
    /// sealed epoch is staged (its transaction handle is what moves; the grain waits for staging before it moves).
    /// </summary>
    public bool CanMigrate => writer is not ITransactionalSink<T> || (writer is IMovableSink && AllStaged());

    /// <summary>The watermark, the prepared transactions not known committed, and the open epoch.</summary>
    public byte[]? ExportForMigration()
    {
        if (writer is not ITransactionalSink<T> && !_finished)
        {
            writer.Flush(); // what a plain writer buffered leaves before the task moves
        }

        if (!AllStaged())
        {
            throw new InvalidOperationException("A sink task cannot move while an epoch is still being staged.");
        }

        var pending = PendingTransactions.Write(StagedUpTo(long.MaxValue));
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
        RestorePending(exported.Slice(13, pendingLength));
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
                errors.Report(ex, "writing a record");
                counters.InvalidRecords++;
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
    /// A plain sink flushes, so the checkpoint covers what it wrote (at least once). A transactional sink seals the epoch
    /// (the synchronous part of its prepare) and records it at once, in barrier order; the snapshot completes when every
    /// sealed epoch up to this one is staged, and holds their transaction handles, so a restore can commit them. An epoch
    /// whose staging outlived an earlier checkpoint is in every later snapshot, never reordered behind a newer one.
    /// </summary>
    public Task<byte[]?> SnapshotAsync(long checkpointId)
    {
        if (writer is not ITransactionalSink<T> transactional)
        {
            // A finished writer flushed in Finish and may have released its client (the Kafka sink disposes its
            // producer), while checkpoints of the rest of the pipeline still reach this task.
            if (!_finished)
            {
                writer.Flush();
            }

            return Task.FromResult<byte[]?>(null);
        }

        Task<byte[]?> staging;
        try
        {
            staging = transactional.PrepareAsync(checkpointId, CancellationToken.None);
        }
        catch (Exception ex)
        {
            staging = Task.FromException<byte[]?>(ex);
        }

        _pending.Add(new SealedEpoch(checkpointId, staging, taskIndex));
        return SnapshotStagedAsync(checkpointId);
    }

    private async Task<byte[]?> SnapshotStagedAsync(long checkpointId)
    {
        await WhenStagedAsync(checkpointId);
        return PendingTransactions.Write(StagedUpTo(checkpointId));
    }

    /// <summary>Completes when every epoch sealed at a barrier up to <paramref name="checkpointId"/> is staged; fails when one could not be.</summary>
    private async Task WhenStagedAsync(long checkpointId)
    {
        // By index: epochs may be committed (removed from the front) or sealed (added at the end) meanwhile.
        for (var i = 0; i < _pending.Count && _pending[i].CheckpointId <= checkpointId; i++)
        {
            var epoch = _pending[i];
            await epoch.Staging;
            i = _pending.IndexOf(epoch);
        }
    }

    private List<PendingTransaction> StagedUpTo(long checkpointId)
    {
        var staged = new List<PendingTransaction>(_pending.Count);
        foreach (var epoch in _pending)
        {
            if (epoch.CheckpointId <= checkpointId && epoch.Staging.Result is { } transaction) // completed: both callers wait for (or check) the staging first
            {
                staged.Add(new PendingTransaction(epoch.CheckpointId, transaction, epoch.Task));
            }
        }

        return staged;
    }

    private bool AllStaged()
    {
        foreach (var epoch in _pending)
        {
            if (!epoch.Staging.IsCompletedSuccessfully)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Commits, oldest first, every epoch up to <paramref name="checkpointId"/> (epochs of checkpoints that failed are
    /// committed by the next one that completes: that checkpoint's snapshot holds them). A commit that throws leaves its
    /// epoch and every later one pending, so they are committed in order by the next completed checkpoint or a restore.
    /// </summary>
    public async Task NotifyCheckpointCompleteAsync(long checkpointId)
    {
        if (writer is not ITransactionalSink<T> transactional)
        {
            return;
        }

        if (_discardAfterRestore)
        {
            _discardAfterRestore = false;
            await DiscardUnreferencedAsync();
        }

        while (_pending.Count > 0 && _pending[0].CheckpointId <= checkpointId)
        {
            var next = _pending[0];
            // Staged already: checkpoint n completed, so this task's snapshot of n, which waited for it, did.
            if (await next.Staging is { } transaction)
            {
                if (next.Task == taskIndex)
                {
                    await transactional.CommitAsync(next.CheckpointId, transaction, CancellationToken.None);
                }
                else
                {
                    await CommitAdoptedAsync(next.Task, next.CheckpointId, transaction);
                }
            }

            _pending.Remove(next);
        }
    }

    /// <summary>
    /// Commits an epoch that task <paramref name="task"/>, which no longer exists, prepared: through a writer of that
    /// task, so the commit is the one it would have made (a Kafka sink's transactional id, markers and fencing are per
    /// task). A writer per commit: these commits follow a restore only, and a writer kept between them could hold a
    /// producer that this task's own writer fences meanwhile (it aborts what retired tasks left open).
    /// </summary>
    private async Task CommitAdoptedAsync(int task, long checkpointId, byte[] transaction)
    {
        var adopted = createWriter(task);
        try
        {
            await ((ITransactionalSink<T>)adopted).CommitAsync(checkpointId, transaction, CancellationToken.None);
        }
        finally
        {
            (adopted as IDisposable)?.Dispose();
        }
    }

    /// <summary>
    /// What this task's writer and the writers of the tasks it adopted kept beside the checkpoint for epochs the restored
    /// state does not hold goes (a Kafka sink's spilled epochs of checkpoints that never completed).
    /// </summary>
    private async Task DiscardUnreferencedAsync()
    {
        await DiscardUnreferencedAsync(writer, taskIndex);
        foreach (var task in _adopted ?? [])
        {
            var adopted = createWriter(task);
            try
            {
                await DiscardUnreferencedAsync(adopted, task);
            }
            finally
            {
                (adopted as IDisposable)?.Dispose();
            }
        }
    }

    private async Task DiscardUnreferencedAsync(ISinkFunction<T> taskWriter, int task)
    {
        if (taskWriter is not Sinks.IRestoredSink restored)
        {
            return;
        }

        var handles = new List<byte[]>();
        foreach (var epoch in _pending)
        {
            if (epoch.Task == task && epoch.Staging.IsCompletedSuccessfully && epoch.Staging.Result is { } handle) // completed (checked first): no wait
            {
                handles.Add(handle);
            }
        }

        await restored.DiscardUnreferencedAsync(handles);
    }

    /// <summary>The task's state from a checkpoint it is restored from.</summary>
    public void Restore(ReadOnlyMemory<byte> snapshot)
    {
        RestorePending(snapshot);
        _discardAfterRestore = true;
    }

    private void RestorePending(ReadOnlyMemory<byte> snapshot)
    {
        _pending.Clear();
        foreach (var restored in PendingTransactions.Read(snapshot, taskIndex))
        {
            _pending.Add(new SealedEpoch(restored.CheckpointId, Task.FromResult<byte[]?>(restored.Transaction), restored.Task));
        }
    }

    /// <summary>
    /// Takes over the pending epochs of sink task <paramref name="task"/>, which the restored checkpoint holds but which no
    /// longer exists (the sink's parallelism was lowered): they are committed with this task's own, in checkpoint order,
    /// and stay in its snapshots until they are. Without this, epochs whose checkpoint completed but whose commit had not
    /// happened would be lost: the sources resume after them.
    /// </summary>
    public void AdoptRetired(int task, ReadOnlyMemory<byte> snapshot)
    {
        if (writer is not ITransactionalSink<T>)
        {
            return;
        }

        (_adopted ??= []).Add(task);
        _discardAfterRestore = true;
        foreach (var restored in PendingTransactions.Read(snapshot, task))
        {
            var at = 0;
            while (at < _pending.Count && _pending[at].CheckpointId <= restored.CheckpointId)
            {
                at++;
            }

            _pending.Insert(at, new SealedEpoch(restored.CheckpointId, Task.FromResult<byte[]?>(restored.Transaction), restored.Task));
        }
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

/// <summary>
/// An epoch sealed at Barrier(<see cref="CheckpointId"/>) by sink task <see cref="Task"/> (this task, or one it adopted)
/// and its staging (null result: the epoch was empty).
/// </summary>
internal sealed record SealedEpoch(long CheckpointId, Task<byte[]?> Staging, int Task);
