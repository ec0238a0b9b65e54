namespace Sluice.State;

/// <summary>The one namespace of keyed state that is not scoped to anything narrower than the key (Flink's <c>VoidNamespace</c>).</summary>
[GenerateSerializer, Immutable]
internal readonly record struct VoidNamespace
{
    public static VoidNamespace Instance => default;
}
