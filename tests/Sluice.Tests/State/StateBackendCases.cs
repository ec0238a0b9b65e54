using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Sluice.State;
using Sluice.State.Serialization;
using Sluice.State.Snapshots;

namespace Sluice.Tests.State;

/// <summary>
/// The state backends every backend-facing test runs against: a test takes a <see cref="StateBackend"/> parameter from
/// <see cref="All"/> and builds its backend with <see cref="Create{TKey}"/>. A new backend adds itself here.
/// </summary>
public static class StateBackendCases
{
    public static TheoryData<StateBackend> All => [StateBackend.Heap];

    internal static IStateSerializerProvider Serializers { get; } = new OrleansStateSerializers(new ServiceCollection()
        .AddSerializer(b => b.AddAssembly(typeof(KeyedStateSnapshot).Assembly).AddAssembly(typeof(Sluice.Windows.TimeWindow).Assembly).AddAssembly(typeof(StateBackendCases).Assembly))
        .BuildServiceProvider());

    internal static IKeyedStateBackend<TKey> Create<TKey>(StateBackend kind, Func<long>? clock = null, int keyGroup = 0)
        where TKey : notnull =>
        KeyedStateBackends.Create<TKey>(kind, keyGroup, Serializers, new StateTime(clock ?? (static () => 0)));
}
