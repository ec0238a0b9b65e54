namespace Sluice.State.Snapshots;

/// <summary>
/// A keyed state backend's snapshot for one key group: per state its name, its schema (kind, namespace and value
/// types, so a renamed type is refused rather than misread) and its table as the backend wrote it. <see cref="Format"/>
/// names how the tables are written, so a backend can tell a table of its own from one it must convert or refuse.
/// </summary>
[GenerateSerializer]
internal sealed class KeyedStateSnapshot
{
    [Id(3)] public string Format { get; set; } = "";

    [Id(0)] public string[] Names { get; set; } = [];

    [Id(1)] public string[] Schemas { get; set; } = [];

    [Id(2)] public byte[][] Tables { get; set; } = [];

    public static KeyedStateSnapshot Empty { get; } = new();
}

/// <summary>One state's entries as columns, so the Orleans codecs write them without per-entry objects.</summary>
[GenerateSerializer]
internal sealed class StateTableColumns<TKey, TNamespace, TValue>
{
    [Id(0)] public TKey[] Keys { get; set; } = [];

    [Id(1)] public TNamespace[] Namespaces { get; set; } = [];

    [Id(2)] public TValue[] Values { get; set; } = [];

    /// <summary>When each entry expires (its time-to-live's clock); null for a state without one.</summary>
    [Id(3)] public long[]? Expiries { get; set; }
}
