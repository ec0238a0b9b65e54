namespace Sluice.Migration;

/// <summary>
/// Says that this silo is stopping and no other silo is active: the cluster goes away with it. From then on a key
/// group sends nothing to another key group. A grain Orleans has already deactivated cannot be placed again on a
/// leaving silo, so each such call would fail with an error-level log, and nothing it carries matters: every key group
/// here is deactivated without moving, and the pipeline resumes from its last completed checkpoint when the cluster
/// returns.
/// </summary>
internal sealed class LastSiloDeparture
{
    private volatile bool _underway;

    public bool IsUnderway => _underway;

    /// <summary>Called by <see cref="PlannedShutdown"/> when it finds no other active silo to move grains to.</summary>
    public void Begin() => _underway = true;
}
