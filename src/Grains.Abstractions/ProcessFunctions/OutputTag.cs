namespace Sluice.ProcessFunctions;

/// <summary>
/// Names a side output of a process function (Flink's <c>OutputTag</c>): the function emits to it with
/// <see cref="IKeyedProcessContext{TKey}.Output{T}"/>, the pipeline reads it with <c>stream.SideOutput(tag)</c>. Two tags
/// are the same side output when their ids and element types are equal. Records sent to a tag nobody reads are dropped.
/// </summary>
public sealed record OutputTag<T>
{
    public OutputTag(string id)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        Id = id;
    }

    public string Id { get; }

    public override string ToString() => $"OutputTag<{typeof(T).Name}>('{Id}')";
}
