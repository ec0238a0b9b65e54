using Sluice.State;
using Sluice.State.Serialization;
using Sluice.State.Snapshots;

namespace Sluice.ProcessFunctions;

/// <summary>
/// The broadcast states of one task (Flink's operator state backend for broadcast state): the states declared with
/// <c>Broadcast(descriptors)</c>, by name. A state is created typed when the function first asks for it; a restored
/// state not asked for yet stays as its snapshot bytes (and goes into the next snapshot as it is) until then.
/// </summary>
internal sealed class BroadcastStates
{
    private readonly Dictionary<string, StateDescriptor> _declared;
    private readonly IStateSerializerProvider _serializers;
    private readonly Dictionary<string, IBroadcastStateTable> _states = [];
    private readonly Dictionary<string, byte[]> _restored = [];
    private readonly string _operator;

    public BroadcastStates(IReadOnlyList<StateDescriptor> declared, IStateSerializerProvider serializers, string operatorName)
    {
        _declared = declared.ToDictionary(d => d.Name);
        _serializers = serializers;
        _operator = operatorName;
    }

    /// <summary>Entries over all states (restored ones not asked for yet count as one each).</summary>
    public int Entries
    {
        get
        {
            var entries = _restored.Count;
            foreach (var state in _states.Values)
            {
                entries += state.Count;
            }

            return entries;
        }
    }

    public BroadcastMapState<TUserKey, TUserValue> Get<TUserKey, TUserValue>(MapStateDescriptor<TUserKey, TUserValue> descriptor)
        where TUserKey : notnull
    {
        if (_states.TryGetValue(descriptor.Name, out var existing))
        {
            return existing as BroadcastMapState<TUserKey, TUserValue>
                ?? throw new InvalidOperationException($"'{_operator}': broadcast state '{descriptor.Name}' holds other types than {descriptor.GetType().Name}<{typeof(TUserKey).Name}, {typeof(TUserValue).Name}>.");
        }

        if (!_declared.TryGetValue(descriptor.Name, out var declared))
        {
            throw new InvalidOperationException($"'{_operator}': broadcast state '{descriptor.Name}' was not declared; name it in Broadcast(...) (declared: {string.Join(", ", _declared.Keys)}).");
        }

        if (declared is not MapStateDescriptor<TUserKey, TUserValue>)
        {
            throw new InvalidOperationException($"'{_operator}': broadcast state '{descriptor.Name}' was declared as {declared.GetType().Name} of other types.");
        }

        var state = new BroadcastMapState<TUserKey, TUserValue>(descriptor.Name, _serializers);
        if (_restored.Remove(descriptor.Name, out var bytes))
        {
            try
            {
                state.Restore(bytes);
            }
            catch (Exception ex) when (ex is not SnapshotSchemaMismatchException)
            {
                throw new SnapshotSchemaMismatchException($"'{_operator}': broadcast state '{descriptor.Name}' in the snapshot does not read as {typeof(TUserKey).Name} -> {typeof(TUserValue).Name}: {ex.Message}");
            }
        }

        _states.Add(descriptor.Name, state);
        return state;
    }

    public BroadcastStateSnapshot Snapshot()
    {
        var count = _states.Count + _restored.Count;
        var snapshot = new BroadcastStateSnapshot { Names = new string[count], States = new byte[count][] };
        var i = 0;
        foreach (var (name, state) in _states)
        {
            snapshot.Names[i] = name;
            snapshot.States[i++] = state.Serialize();
        }

        foreach (var (name, bytes) in _restored)
        {
            snapshot.Names[i] = name;
            snapshot.States[i++] = bytes;
        }

        return snapshot;
    }

    /// <summary>Replaces every broadcast state with the snapshot's; states the function already holds are refilled in place.</summary>
    public void Restore(BroadcastStateSnapshot? snapshot)
    {
        _restored.Clear();
        foreach (var state in _states.Values)
        {
            state.Clear();
        }

        if (snapshot is null)
        {
            return;
        }

        for (var i = 0; i < snapshot.Names.Length; i++)
        {
            if (_states.TryGetValue(snapshot.Names[i], out var state))
            {
                state.Restore(snapshot.States[i]);
            }
            else
            {
                _restored[snapshot.Names[i]] = snapshot.States[i];
            }
        }
    }
}
