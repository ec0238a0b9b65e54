using System.Collections.Concurrent;

namespace Sluice.Migration;

/// <summary>
/// The stateful grains active on this silo that can move with their state: key groups (and sink tasks) and checkpoint
/// coordinators. They add themselves when they activate and leave when they deactivate, so a graceful shutdown
/// knows what to move without asking Orleans' catalog.
/// </summary>
internal sealed class LocalMovableGrains
{
    private readonly ConcurrentDictionary<string, byte> _keyGroups = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _coordinators = new(StringComparer.Ordinal);

    public ICollection<string> KeyGroups => _keyGroups.Keys;

    public ICollection<string> Coordinators => _coordinators.Keys;

    public int Count => _keyGroups.Count + _coordinators.Count;

    public void AddKeyGroup(string key) => _keyGroups[key] = 0;

    public void RemoveKeyGroup(string key) => _keyGroups.TryRemove(key, out _);

    public void AddCoordinator(string pipeline) => _coordinators[pipeline] = 0;

    public void RemoveCoordinator(string pipeline) => _coordinators.TryRemove(pipeline, out _);
}
