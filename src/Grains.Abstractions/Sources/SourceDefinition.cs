namespace Sluice.Sources;

/// <summary>
/// A partitioned input of a pipeline. Each partition is read by one source reader inside a stream
/// provider receiver, in order; the partition is the unit of watermarks and (later) offsets.
/// </summary>
public abstract class SourceDefinition<T>
{
    protected SourceDefinition(string name, int partitions)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (partitions <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(partitions), partitions, $"Source '{name}' needs at least one partition.");
        }

        Name = name;
        Partitions = partitions;
    }

    public string Name { get; }

    public int Partitions { get; }

    /// <summary>True when records arrive with timestamps and watermarks of their own (no WithTimestamps needed).</summary>
    public virtual bool CarriesWatermarks => false;

    /// <summary>Opens a reader for one partition. Called on the silo that owns the partition's queue.</summary>
    public abstract ISourceReader<T> OpenReader(int partition);

    /// <summary>
    /// Opens a reader of one partition for pipeline <paramref name="pipelineId"/>; sources whose external state is named
    /// after the pipeline (a Kafka source's default consumer group) override this.
    /// </summary>
    public virtual ISourceReader<T> OpenReader(string pipelineId, int partition) => OpenReader(partition);
}

/// <summary>Reads one source partition, in order, without blocking.</summary>
public interface ISourceReader<T>
{
    /// <summary>
    /// Reads what is available now, at most <paramref name="maxRecords"/> records, into <paramref name="output"/>.
    /// </summary>
    /// <returns>The outcome: whether records are still waiting (lag) and whether the partition has ended.</returns>
    SourceReadResult Read(int maxRecords, ISourceOutput<T> output, long nowMilliseconds);
}

/// <summary>Receives what a reader reads: records with their source timestamps, and explicit watermarks.</summary>
public interface ISourceOutput<in T>
{
    /// <summary>Hands a record to the pipeline.</summary>
    /// <returns>Null, or the error with which the pipeline's source operators rejected the record (it was dropped and counted), so the reader can dead-letter it.</returns>
    Exception? Record(T value, long timestamp);

    /// <summary>An explicit watermark between records; readers should return right after emitting one.</summary>
    void Watermark(long watermark);

    /// <summary>
    /// The partition has nothing to say for now (Flink's <c>markIdle</c>): it stops holding the watermark back, without
    /// waiting for the strategy's idle timeout, until its next record or watermark. Kept across checkpoints and handovers.
    /// </summary>
    void Idle();
}

/// <summary>Optional: a reader whose position can be recorded and restored (checkpoints, replays).</summary>
public interface ISeekableSourceReader
{
    /// <summary>
    /// Position of the next record the reader will hand out (Kafka: offset; generator and in-memory: index), or -1 while
    /// the reader cannot tell yet; the partition takes no checkpoint barrier until it can.
    /// </summary>
    long Position { get; }

    /// <summary>Continues reading at <paramref name="position"/>; what was read ahead is discarded.</summary>
    void Seek(long position);
}

/// <summary>
/// Optional, for seekable readers (Flink's <c>CheckpointListener</c>): told when a checkpoint that recorded the reader's
/// position completed, e.g. to publish that position for monitoring (Kafka: commit it to the consumer group). The
/// checkpoint stays authoritative: what a reader does here must never be what it resumes from.
/// </summary>
public interface ICheckpointListeningSourceReader
{
    /// <summary>
    /// Checkpoint <paramref name="checkpointId"/>, which recorded <paramref name="position"/> for this partition, completed.
    /// Called on the reader's thread, between reads; must not block.
    /// </summary>
    void CheckpointCompleted(long checkpointId, long position);
}

/// <summary>Optional: a reader that counts what it sent to a dead-letter destination.</summary>
public interface ISourceReaderStatus
{
    long DeadLetters { get; }

    string? LastError { get; }

    /// <summary>Position one past the last record the partition holds now (Kafka: the high watermark), or -1 when not known.</summary>
    long EndPosition => -1;
}

/// <summary>What a read left behind.</summary>
/// <param name="Backlog">Records known to be waiting in the partition after this read (0 = caught up).</param>
/// <param name="Ended">The partition is bounded and fully read.</param>
public readonly record struct SourceReadResult(long Backlog, bool Ended);
