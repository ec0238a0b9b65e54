using Sluice.Pipelines;
using Sluice.Windows;

namespace Sluice;

/// <summary>A stream partitioned by key, ready for keyed operators.</summary>
public sealed class KeyedStream<T, TKey>
    where TKey : notnull
{
    internal KeyedStream(KeyByNode<T, TKey> node) => Node = node;

    internal KeyByNode<T, TKey> Node { get; }

    /// <summary>Groups each key's records into windows chosen by <paramref name="assigner"/>.</summary>
    public WindowedStream<T, TKey> Window(WindowAssigner assigner)
    {
        ArgumentNullException.ThrowIfNull(assigner);
        return new WindowedStream<T, TKey>(Node, assigner, assigner.DefaultTrigger);
    }
}
