using System.Runtime.InteropServices;
using Sluice.Windows;

namespace Sluice.State;

/// <summary>The state scope of a window operator: one key in one window (Flink: key + namespace).</summary>
internal readonly record struct WindowScope<TKey>(TKey Key, TimeWindow Window)
    where TKey : notnull;

/// <summary>
/// In-memory keyed state of a window operator for one key group: one accumulator per (key, window).
/// This is the heap state backend; operators reach it only through this type so another backend can
/// take its place.
/// </summary>
internal sealed class WindowState<TKey, TAcc>
    where TKey : notnull
{
    private readonly Dictionary<WindowScope<TKey>, TAcc> _accumulators = [];

    public int Count => _accumulators.Count;

    /// <summary>The accumulator slot for a scope, created by <paramref name="create"/> when absent.</summary>
    public ref TAcc GetOrCreate(in WindowScope<TKey> scope, Func<TAcc> create)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_accumulators, scope, out var exists);
        if (!exists)
        {
            slot = create();
        }

        return ref slot!;
    }

    public bool TryGet(in WindowScope<TKey> scope, out TAcc accumulator) => _accumulators.TryGetValue(scope, out accumulator!);

    public void Remove(in WindowScope<TKey> scope) => _accumulators.Remove(scope);

    /// <summary>Every (scope, accumulator), for snapshots.</summary>
    public IReadOnlyDictionary<WindowScope<TKey>, TAcc> Entries => _accumulators;

    public void Clear() => _accumulators.Clear();

    public void Set(in WindowScope<TKey> scope, TAcc accumulator) => _accumulators[scope] = accumulator;
}
