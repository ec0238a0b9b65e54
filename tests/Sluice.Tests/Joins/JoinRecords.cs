using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Sluice.State.Serialization;
using Sluice.State.Snapshots;

namespace Sluice.Tests.Joins;

/// <summary>A record of either join input: its id is unique over both inputs.</summary>
[GenerateSerializer, Immutable]
public readonly record struct Side([property: Id(0)] string Key, [property: Id(1)] int Id, [property: Id(2)] long Ts);

/// <summary>A joined pair by ids, with the timestamp the join stamped it with.</summary>
[GenerateSerializer, Immutable]
public readonly record struct Pair([property: Id(0)] string Key, [property: Id(1)] int Left, [property: Id(2)] int Right, [property: Id(3)] long Ts);

internal static class JoinSerializers
{
    /// <summary>State serializers that know this assembly's record types as well as the engine's.</summary>
    public static IStateSerializerProvider Provider { get; } = new OrleansStateSerializers(new ServiceCollection()
        .AddSerializer(b => b.AddAssembly(typeof(KeyedStateSnapshot).Assembly)
            .AddAssembly(typeof(Sluice.Windows.TimeWindow).Assembly)
            .AddAssembly(typeof(Side).Assembly))
        .BuildServiceProvider());
}
