namespace Sluice.Storage;

/// <summary>
/// A blob store for checkpoints: local file system, Azure Blob or S3 behind one small interface.
/// Paths are '/'-separated relative keys such as <c>"pipeline/chk-3/1-17"</c> and <c>"pipeline/chk-3/_metadata"</c>
/// (see <see cref="CheckpointPaths"/> for what is accepted).
/// </summary>
/// <remarks>
/// Every failure to reach or use the backing store surfaces as a <see cref="CheckpointStoreException"/> that names
/// the store and the path, never as a raw SDK or I/O exception, so callers can count checkpoint failures.
/// Cancellation through the caller's token surfaces as <see cref="OperationCanceledException"/>.
/// A reader never sees a partly written object: every store makes a put visible whole or not at all
/// (the S3 store against an S3 emulator that streams uploads into place is the documented exception, see
/// <see cref="S3CheckpointStore"/>).
/// </remarks>
internal interface ICheckpointStore
{
    /// <summary>Human-readable name of the store (kind and location), used in exception messages and logs.</summary>
    string Name { get; }

    /// <summary>Writes <paramref name="data"/> at <paramref name="path"/>, replacing what was there.</summary>
    Task PutAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>Reads the object at <paramref name="path"/>; null when there is none.</summary>
    Task<byte[]?> GetAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>
    /// Atomically creates the commit marker at <paramref name="path"/> (e.g. <c>"pipeline/chk-3/_metadata"</c>) if
    /// nothing exists there. Returns true if this call created it, false if an object already existed (it is
    /// left unchanged). Of several concurrent commits of one path exactly one returns true, and a reader sees
    /// either no object or the winner's complete content.
    /// </summary>
    Task<bool> CommitAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>
    /// Paths of every object whose path starts with <paramref name="prefix"/> (a plain string prefix, as in S3 and
    /// Azure Blob: <c>"p/chk-1"</c> also matches <c>"p/chk-10/x"</c>; end it with '/' to list one folder), in
    /// ordinal order. An empty prefix lists everything.
    /// </summary>
    Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>Deletes the object at <paramref name="path"/>; deleting a missing object is not an error.</summary>
    Task DeleteAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>True if an object exists at <paramref name="path"/>.</summary>
    Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default);
}
