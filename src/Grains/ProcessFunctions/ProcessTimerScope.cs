namespace Sluice.ProcessFunctions;

/// <summary>What a process function's timer belongs to: its key (Flink: key + <c>VoidNamespace</c>).</summary>
internal readonly record struct ProcessTimerScope<TKey>(TKey Key)
    where TKey : notnull;
