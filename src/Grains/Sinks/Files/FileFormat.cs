namespace Sluice.Sinks.Files;

/// <summary>
/// How a <see cref="FileSink{T}"/> turns one epoch of records into one part file, and how a
/// <see cref="FileSinkReader{T}"/> reads it back. Created by <see cref="FileFormats"/>.
/// </summary>
public abstract class FileFormat<T>
{
    private protected FileFormat()
    {
    }

    /// <summary>The format's name, for messages ("JSON Lines", "Parquet").</summary>
    public abstract string Name { get; }

    /// <summary>The part files' extension, with its dot (".jsonl", ".parquet").</summary>
    public abstract string Extension { get; }

    /// <summary>The per-task encoder that collects one epoch at a time.</summary>
    internal abstract IEpochEncoder<T> CreateEncoder();

    /// <summary>The records of a part file written by this format, in the order they were written.</summary>
    internal abstract ValueTask<IReadOnlyList<T>> DecodeAsync(ReadOnlyMemory<byte> part, CancellationToken cancellationToken);

    public override string ToString() => Name;
}

/// <summary>
/// Collects the records a sink task writes during one epoch. <see cref="Write"/> either adds the record or throws
/// and leaves the epoch as it was. Used by one task; calls never overlap. Disposing it drops the open epoch.
/// </summary>
internal interface IEpochEncoder<in T> : IDisposable
{
    /// <summary>Records in the open epoch.</summary>
    int Count { get; }

    void Write(T value);

    /// <summary>
    /// Takes the open epoch's records (the next <see cref="Write"/> starts a new epoch); null when there were none.
    /// Cheap: the encoding work that remains happens in <see cref="ISealedEpoch.EncodeAsync"/>.
    /// </summary>
    ISealedEpoch? Seal();
}

/// <summary>A sealed epoch on its way to storage; disposing it releases its buffers.</summary>
internal interface ISealedEpoch : IDisposable
{
    int Records { get; }

    /// <summary>The complete part file. The memory stays valid until the epoch is disposed.</summary>
    ValueTask<ReadOnlyMemory<byte>> EncodeAsync(CancellationToken cancellationToken);
}
