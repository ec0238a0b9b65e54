namespace Sluice.Windows;

/// <summary>What a window operator's timer belongs to: one key in one window (Flink: key + namespace).</summary>
internal readonly record struct WindowScope<TKey>(TKey Key, TimeWindow Window)
    where TKey : notnull;
