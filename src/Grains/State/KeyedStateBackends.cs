using Sluice.State.Heap;
using Sluice.State.Serialization;

namespace Sluice.State;

/// <summary>Creates the backend a pipeline chose (<see cref="PipelineOptions.StateBackend"/>) for one key group.</summary>
internal static class KeyedStateBackends
{
    public static IKeyedStateBackend<TKey> Create<TKey>(StateBackend kind, int keyGroup, IStateSerializerProvider serializers, StateTime time)
        where TKey : notnull =>
        kind switch
        {
            StateBackend.Heap => new HeapKeyedStateBackend<TKey>(keyGroup, serializers, time),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown state backend"),
        };
}
