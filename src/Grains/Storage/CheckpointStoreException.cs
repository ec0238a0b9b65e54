namespace Sluice.Storage;

/// <summary>
/// A checkpoint store operation failed: the store was unreachable, refused the request or the local file system
/// failed. Names the store, the operation and the path; the SDK or I/O exception is the inner exception.
/// </summary>
internal sealed class CheckpointStoreException : Exception
{
    public CheckpointStoreException(string store, string operation, string path, string reason, Exception? inner = null)
        : base($"{store}: {operation} of '{path}' failed: {reason}", inner)
    {
        Store = store;
        Operation = operation;
        StorePath = path;
    }

    /// <summary>The store's name (<see cref="ICheckpointStore.Name"/>).</summary>
    public string Store { get; }

    /// <summary>The operation that failed: put, get, commit, list, delete, exists.</summary>
    public string Operation { get; }

    /// <summary>The path (or list prefix) the operation was about.</summary>
    public string StorePath { get; }

    /// <summary>Wraps <paramref name="inner"/>, whose message is shortened to its first line.</summary>
    public static CheckpointStoreException Wrap(string store, string operation, string path, Exception inner)
    {
        var message = inner.Message;
        var newline = message.IndexOfAny(['\r', '\n']);
        if (newline >= 0)
        {
            message = message[..newline];
        }

        return new CheckpointStoreException(store, operation, path, $"{inner.GetType().Name}: {message}", inner);
    }
}
