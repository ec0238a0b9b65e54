namespace Sluice.Silo.Demo;

/// <summary>A page view by a user, as the demo generator produces it.</summary>
[GenerateSerializer, Immutable]
internal sealed record ClickEvent([property: Id(0)] string UserId, [property: Id(1)] string Page, [property: Id(2)] long Timestamp);

/// <summary>Clicks of one user in one window.</summary>
[GenerateSerializer, Immutable]
internal sealed record UserClicks([property: Id(0)] string UserId, [property: Id(1)] long WindowEnd, [property: Id(2)] long Clicks);

/// <summary>The most active users of one window.</summary>
[GenerateSerializer, Immutable]
internal sealed record TopUsers([property: Id(0)] long WindowEnd, [property: Id(1)] IReadOnlyList<UserClicks> Users);
