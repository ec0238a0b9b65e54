using System.Buffers.Binary;
using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Exchange;
using Sluice.Functions;
using Sluice.Operators;
using Sluice.Tasks;

namespace Sluice.Tests.Sinks;

/// <summary>
/// A transactional sink task's epochs when staging is slow: epochs are recorded in barrier order the moment they are
/// sealed, a snapshot holds every sealed epoch up to its checkpoint once each is staged, commits go oldest first, and
/// the task cannot move while an epoch is still being staged.
/// </summary>
public sealed class TransactionalSinkTaskTests
{
    [Fact]
    public async Task A_snapshot_waits_for_an_earlier_epoch_still_staging_and_holds_both_in_checkpoint_order()
    {
        var writer = new ControlledStagingWriter();
        using var task = CreateTask(writer);

        Write(task, 1, 2);
        var first = task.SnapshotAsync(1);
        Write(task, 3);
        var second = task.SnapshotAsync(2);

        // Epoch 2 is staged first (epoch 1 outlived its checkpoint's timeout, say): checkpoint 2 must still hold epoch 1.
        writer.Stage(2);
        await Task.Delay(50);
        Assert.False(second.IsCompleted, "checkpoint 2's snapshot completed while epoch 1, sealed before it, was not staged");
        writer.Stage(1);

        var firstCheckpoints = Checkpoints(await first);
        var secondCheckpoints = Checkpoints(await second);
        Assert.Equal(new long[] { 1 }, firstCheckpoints);
        Assert.Equal(new long[] { 1, 2 }, secondCheckpoints);
    }

    [Fact]
    public async Task Completing_a_later_checkpoint_commits_every_earlier_epoch_first_in_checkpoint_order()
    {
        var writer = new ControlledStagingWriter();
        using var task = CreateTask(writer);
        Write(task, 1);
        var first = task.SnapshotAsync(1);
        Write(task, 2);
        var second = task.SnapshotAsync(2);
        writer.Stage(2);
        await Task.Delay(50);
        writer.Stage(1);
        await first;
        await second;

        await task.NotifyCheckpointCompleteAsync(2);

        Assert.Equal([1L, 2L], writer.Committed);
        Assert.Equal(0, task.StateEntries);
    }

    [Fact]
    public async Task A_restore_from_a_snapshot_commits_the_epochs_it_holds_and_only_those()
    {
        var writer = new ControlledStagingWriter();
        using var task = CreateTask(writer);
        Write(task, 1);
        var first = task.SnapshotAsync(1);
        Write(task, 2);
        var second = task.SnapshotAsync(2);
        writer.Stage(1);
        writer.Stage(2);
        var snapshot = await first;
        await second;

        var restoredWriter = new ControlledStagingWriter();
        using var restored = CreateTask(restoredWriter);
        restored.Restore(snapshot!);
        await restored.NotifyCheckpointCompleteAsync(1);

        Assert.Equal([1L], restoredWriter.Committed);
    }

    [Fact]
    public async Task A_sink_task_cannot_move_while_an_epoch_is_staging_and_carries_it_once_staged()
    {
        var writer = new ControlledStagingWriter();
        using var task = CreateTask(writer);
        Write(task, 1, 2);
        var snapshot = task.SnapshotAsync(1);
        Write(task, 3);

        Assert.False(task.CanMigrate);
        Assert.Throws<InvalidOperationException>(() => task.ExportForMigration());

        writer.Stage(1);
        await snapshot;
        Assert.True(task.CanMigrate);
        var exported = task.ExportForMigration()!;

        var movedWriter = new ControlledStagingWriter();
        using var moved = CreateTask(movedWriter);
        moved.ImportMigrated(exported);
        await moved.NotifyCheckpointCompleteAsync(1);
        Assert.Equal([1L], movedWriter.Committed);
        Assert.Empty(movedWriter.Discards); // a move restores no checkpoint: nothing of the task's is garbage
        Assert.Equal([3], movedWriter.OpenEpoch);
    }

    [Fact]
    public async Task An_epoch_whose_staging_failed_fails_every_later_snapshot()
    {
        var writer = new ControlledStagingWriter();
        using var task = CreateTask(writer);
        Write(task, 1);
        var first = task.SnapshotAsync(1);
        Write(task, 2);
        var second = task.SnapshotAsync(2);
        writer.Stage(2);
        writer.FailStaging(1);

        await Assert.ThrowsAsync<IOException>(() => first);
        await Assert.ThrowsAsync<IOException>(() => second);
    }

    [Fact]
    public async Task A_task_adopts_the_pending_epochs_of_a_retired_task_and_commits_them_through_that_tasks_writer_in_checkpoint_order()
    {
        // Before: sink tasks 0 and 1 each with pending epochs; after a restore with one task, task 0 takes over task 1.
        var retiredWriter = new ControlledStagingWriter();
        var retired = CreateTask(retiredWriter, task: 1);
        Write(retired, 5);
        var retiredFirst = retired.SnapshotAsync(1);
        Write(retired, 6);
        var retiredSecond = retired.SnapshotAsync(2);
        retiredWriter.Stage(1);
        retiredWriter.Stage(2);
        await retiredFirst;
        var retiredSnapshot = await retiredSecond;
        retired.Dispose();

        var ownWriter = new ControlledStagingWriter();
        var own = CreateTask(ownWriter);
        Write(own, 1);
        var ownFirst = own.SnapshotAsync(1);
        Write(own, 2);
        var ownSecond = own.SnapshotAsync(3);
        ownWriter.Stage(1);
        ownWriter.Stage(3);
        await ownFirst;
        var ownSnapshot = await ownSecond;
        own.Dispose();

        var writers = new Dictionary<int, List<ControlledStagingWriter>>();
        var restoredWriter = new ControlledStagingWriter();
        using var restored = CreateTask(restoredWriter, task: 0, createWriter: index =>
        {
            var w = new ControlledStagingWriter();
            (writers.TryGetValue(index, out var list) ? list : writers[index] = []).Add(w);
            return w;
        });
        restored.Restore(ownSnapshot!);
        restored.AdoptRetired(1, retiredSnapshot!);

        // Its snapshot now holds both tasks' epochs, in checkpoint order, each with the task that prepared it.
        Write(restored, 9);
        var afterAdoption = restored.SnapshotAsync(4);
        restoredWriter.Stage(4);
        var pending = PendingTransactions.Read((await afterAdoption)!, task: 0);
        Assert.Equal([(1L, 0), (1L, 1), (2L, 1), (3L, 0), (4L, 0)], pending.Select(p => (p.CheckpointId, p.Task)).ToList());

        await restored.NotifyCheckpointCompleteAsync(3);
        // Before its first commit the restored task had each writer discard what its restored epochs do not refer to.
        Assert.Equal([[1L, 3L, 4L]], restoredWriter.Discards); // epoch 4 was sealed after the restore: kept too
        Assert.Equal([[1L, 2L]], writers[1].SelectMany(w => w.Discards).ToList());
        Assert.Equal([1L, 3L], restoredWriter.Committed);
        Assert.Equal([1], writers.Keys.ToList());
        Assert.Equal([1L, 2L], writers[1].SelectMany(w => w.Committed).ToList());
        Assert.All(writers[1], w => Assert.True(w.Disposed, "a writer made for a retired task's commit is disposed after it"));
        Assert.Equal(1, restored.StateEntries); // epoch 4, sealed above, still pending
    }

    [Fact]
    public void A_snapshot_of_the_earlier_layout_without_tasks_reads_as_the_snapshotting_tasks_own()
    {
        var payload = new byte[4 + 8 + 4 + 8];
        BinaryPrimitives.WriteInt32LittleEndian(payload, 1);
        BinaryPrimitives.WriteInt64LittleEndian(payload.AsSpan(4), 7);
        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(12), 8);
        BinaryPrimitives.WriteInt64LittleEndian(payload.AsSpan(16), 7);
        var v1 = Sluice.State.Snapshots.SnapshotEnvelope.Wrap("sink-transactions/v1", payload);

        var pending = Assert.Single(PendingTransactions.Read(v1, task: 2));
        Assert.Equal((7L, 2), (pending.CheckpointId, pending.Task));
        Assert.Equal(7L, BinaryPrimitives.ReadInt64LittleEndian(pending.Transaction));
    }

    private static SinkStageTask<int> CreateTask(ControlledStagingWriter writer, int task = 0, Func<int, ISinkFunction<int>>? createWriter = null) =>
        new(
            writer,
            createWriter ?? (_ => throw new InvalidOperationException("no other task's writer is expected")),
            "p",
            task,
            new OperatorCounters(),
            new UserErrorReporter(NullLogger.Instance, $"p/sink[{task}]", static () => 0, ErrorPolicy.Fail));

    private static void Write(SinkStageTask<int> task, params int[] values) =>
        task.Process(new RecordBatch<int>(values, new long[values.Length]));

    private static long[] Checkpoints(byte[]? snapshot) =>
        PendingTransactions.Read(snapshot!, task: 0).Select(p => p.CheckpointId).ToArray();

    /// <summary>Seals at once (the contract's synchronous part); each epoch is staged when the test says so.</summary>
    private sealed class ControlledStagingWriter : ITransactionalSink<int>, IMovableSink, Sluice.Sinks.IRestoredSink, IDisposable
    {
        public bool Disposed { get; private set; }

        /// <summary>The checkpoints of the handles each discard was told to keep.</summary>
        public List<List<long>> Discards { get; } = [];

        public Task DiscardUnreferencedAsync(IReadOnlyList<byte[]> pending)
        {
            Discards.Add(pending.Select(h => BinaryPrimitives.ReadInt64LittleEndian(h)).ToList());
            return Task.CompletedTask;
        }

        public void Dispose() => Disposed = true;

        private readonly Dictionary<long, TaskCompletionSource<byte[]?>> _staging = [];

        public List<int> OpenEpoch { get; } = [];

        public List<long> Committed { get; } = [];

        public void Write(int value, SinkContext context) => OpenEpoch.Add(value);

        public Task<byte[]?> PrepareAsync(long checkpointId, CancellationToken cancellationToken)
        {
            OpenEpoch.Clear();
            var staging = new TaskCompletionSource<byte[]?>(TaskCreationOptions.RunContinuationsAsynchronously);
            _staging[checkpointId] = staging;
            return staging.Task;
        }

        public void Stage(long checkpointId)
        {
            var handle = new byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(handle, checkpointId);
            _staging[checkpointId].SetResult(handle);
        }

        public void FailStaging(long checkpointId) => _staging[checkpointId].SetException(new IOException("the store is gone"));

        public Task CommitAsync(long checkpointId, byte[] transaction, CancellationToken cancellationToken)
        {
            Assert.Equal(checkpointId, BinaryPrimitives.ReadInt64LittleEndian(transaction));
            Committed.Add(checkpointId);
            return Task.CompletedTask;
        }

        public byte[] ExportOpenEpoch()
        {
            var bytes = new byte[OpenEpoch.Count * 4];
            for (var i = 0; i < OpenEpoch.Count; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), OpenEpoch[i]);
            }

            OpenEpoch.Clear();
            return bytes;
        }

        public void ImportOpenEpoch(ReadOnlySpan<byte> epoch)
        {
            for (var i = 0; i < epoch.Length; i += 4)
            {
                OpenEpoch.Add(BinaryPrimitives.ReadInt32LittleEndian(epoch[i..]));
            }
        }
    }
}
