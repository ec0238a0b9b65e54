using System.Buffers.Binary;
using Sluice.State.Snapshots;

namespace Sluice.Tasks;

/// <summary>A transactional sink's epoch that was prepared at Barrier(<see cref="CheckpointId"/>) and is not yet known committed.</summary>
internal readonly record struct PendingTransaction(long CheckpointId, byte[] Transaction);

/// <summary>The snapshot of a transactional sink task: its pending transactions, oldest first.</summary>
internal static class PendingTransactions
{
    private const string Schema = "sink-transactions/v1";

    public static byte[] Write(List<PendingTransaction> pending)
    {
        var size = 4;
        foreach (var p in pending)
        {
            size += 12 + p.Transaction.Length;
        }

        var payload = new byte[size];
        var span = payload.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(span, pending.Count);
        var offset = 4;
        foreach (var p in pending)
        {
            BinaryPrimitives.WriteInt64LittleEndian(span[offset..], p.CheckpointId);
            BinaryPrimitives.WriteInt32LittleEndian(span[(offset + 8)..], p.Transaction.Length);
            p.Transaction.CopyTo(span[(offset + 12)..]);
            offset += 12 + p.Transaction.Length;
        }

        return SnapshotEnvelope.Wrap(Schema, payload);
    }

    public static List<PendingTransaction> Read(ReadOnlyMemory<byte> blob)
    {
        var span = SnapshotEnvelope.Unwrap(blob, Schema, "sink task snapshot").Span;
        var count = BinaryPrimitives.ReadInt32LittleEndian(span);
        var result = new List<PendingTransaction>(count);
        var offset = 4;
        for (var i = 0; i < count; i++)
        {
            var id = BinaryPrimitives.ReadInt64LittleEndian(span[offset..]);
            var length = BinaryPrimitives.ReadInt32LittleEndian(span[(offset + 8)..]);
            result.Add(new PendingTransaction(id, span.Slice(offset + 12, length).ToArray()));
            offset += 12 + length;
        }

        return result;
    }
}
