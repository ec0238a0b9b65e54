using System.Text;
using Sluice.Storage;

namespace Sluice.Kafka;

/// <summary>
/// Write-ahead epochs too large for the checkpoint (<see cref="KafkaSinkOptions.SpillThreshold"/>): the compressed
/// handle is put in the checkpoint store and the checkpoint keeps a reference (version byte 2, the handle's nonce as int64
/// LE, then the path in UTF-8).
/// </summary>
internal static class KafkaEpochSpill
{
    private const byte ReferenceVersion = 2;

    public static bool IsReference(byte[] handle) => handle.Length > 9 && handle[0] == ReferenceVersion;

    public static long NonceOf(byte[] reference) => System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(reference.AsSpan(1));

    /// <summary>A path unique per spill (a new attempt may seal an epoch of the same number again).</summary>
    public static string PathFor(string pipelineId, string sinkName, int taskIndex, long epoch) =>
        $"{FolderOf(pipelineId, sinkName, taskIndex)}{epoch}-{Guid.NewGuid():N}";

    /// <summary>Where one sink task's spills are.</summary>
    public static string FolderOf(string pipelineId, string sinkName, int taskIndex) =>
        $"{pipelineId}/kafka-spill/{Safe(sinkName)}/{taskIndex}/";

    /// <summary>
    /// Deletes the spills in <paramref name="folder"/> that neither a <paramref name="pending"/> handle refers to nor
    /// <paramref name="keep"/> says to keep; returns how many went.
    /// </summary>
    public static async Task<int> DiscardUnreferencedAsync(ICheckpointStore store, string folder, IReadOnlyList<byte[]> pending, Func<string, bool> keep)
    {
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        foreach (var handle in pending)
        {
            if (IsReference(handle))
            {
                referenced.Add(PathOf(handle));
            }
        }

        var discarded = 0;
        foreach (var path in await store.ListAsync(folder))
        {
            if (!referenced.Contains(path) && !keep(path))
            {
                await store.DeleteAsync(path);
                discarded++;
            }
        }

        return discarded;
    }

    public static async Task<byte[]> SpillAsync(ICheckpointStore store, string path, byte[] handle)
    {
        await store.PutAsync(path, handle);
        var reference = new byte[9 + Encoding.UTF8.GetByteCount(path)];
        reference[0] = ReferenceVersion;
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(reference.AsSpan(1), KafkaEpochBuffer.NonceOf(handle));
        Encoding.UTF8.GetBytes(path, reference.AsSpan(9));
        return reference;
    }

    public static string PathOf(byte[] reference) => Encoding.UTF8.GetString(reference.AsSpan(9));

    /// <summary>The spilled handle; fails naming the path when the store lacks it.</summary>
    public static async Task<byte[]> ReadAsync(ICheckpointStore? store, byte[] reference, string sinkName)
    {
        var path = PathOf(reference);
        if (store is null)
        {
            throw new KafkaConfigurationException($"Kafka sink '{sinkName}': the checkpoint holds an epoch spilled to '{path}', but this silo has no checkpoint store.");
        }

        return await store.GetAsync(path)
            ?? throw new InvalidOperationException($"Kafka sink '{sinkName}': the spilled epoch '{path}' is missing from {store.Name}; the checkpoint that names it cannot be committed.");
    }

    private static string Safe(string name)
    {
        var chars = name.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (!char.IsAsciiLetterOrDigit(chars[i]) && chars[i] is not ('-' or '_' or '.'))
            {
                chars[i] = '_';
            }
        }

        return new string(chars);
    }
}
