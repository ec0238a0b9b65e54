using System.Buffers.Binary;
using Sluice.State.Snapshots;

namespace Sluice.Tasks;

/// <summary>
/// A transactional sink's epoch that was prepared at Barrier(<see cref="CheckpointId"/>) by sink task
/// <see cref="Task"/> and is not yet known committed. The task is the one that prepared it: a task whose sink now has
/// fewer tasks adopts the pending epochs of the tasks that no longer exist and commits them as theirs.
/// </summary>
internal readonly record struct PendingTransaction(long CheckpointId, byte[] Transaction, int Task);

/// <summary>The snapshot of a transactional sink task: its pending transactions, oldest first.</summary>
/// <remarks>
/// Layout (schema <c>sink-transactions/v2</c>): count (int32 LE), then per transaction its checkpoint id (int64 LE), the
/// sink task that prepared it (int32 LE), the handle's length (int32 LE) and the handle. Snapshots of schema
/// <c>sink-transactions/v1</c> (no task: every transaction is the snapshotting task's own) are still read.
/// </remarks>
internal static class PendingTransactions
{
    private const string Schema = "sink-transactions/v2";
    private const string SchemaV1 = "sink-transactions/v1";

    public static byte[] Write(List<PendingTransaction> pending)
    {
        var size = 4;
        foreach (var p in pending)
        {
            size += 16 + p.Transaction.Length;
        }

        var payload = new byte[size];
        var span = payload.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(span, pending.Count);
        var offset = 4;
        foreach (var p in pending)
        {
            BinaryPrimitives.WriteInt64LittleEndian(span[offset..], p.CheckpointId);
            BinaryPrimitives.WriteInt32LittleEndian(span[(offset + 8)..], p.Task);
            BinaryPrimitives.WriteInt32LittleEndian(span[(offset + 12)..], p.Transaction.Length);
            p.Transaction.CopyTo(span[(offset + 16)..]);
            offset += 16 + p.Transaction.Length;
        }

        return SnapshotEnvelope.Wrap(Schema, payload);
    }

    /// <summary>The pending transactions of a sink task's snapshot; <paramref name="task"/> is the task that wrote it.</summary>
    public static List<PendingTransaction> Read(ReadOnlyMemory<byte> blob, int task)
    {
        var v1 = SnapshotEnvelope.SchemaOf(blob.Span) == SchemaV1;
        var span = SnapshotEnvelope.Unwrap(blob, v1 ? SchemaV1 : Schema, "sink task snapshot").Span;
        var count = BinaryPrimitives.ReadInt32LittleEndian(span);
        var result = new List<PendingTransaction>(count);
        var offset = 4;
        for (var i = 0; i < count; i++)
        {
            var id = BinaryPrimitives.ReadInt64LittleEndian(span[offset..]);
            var preparedBy = v1 ? task : BinaryPrimitives.ReadInt32LittleEndian(span[(offset + 8)..]);
            offset += v1 ? 8 : 12;
            var length = BinaryPrimitives.ReadInt32LittleEndian(span[offset..]);
            result.Add(new PendingTransaction(id, span.Slice(offset + 4, length).ToArray(), preparedBy));
            offset += 4 + length;
        }

        return result;
    }
}
