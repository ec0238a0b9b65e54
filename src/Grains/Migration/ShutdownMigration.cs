using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime.Placement;

namespace Sluice.Migration;

/// <summary>
/// A graceful silo shutdown is a planned move: instead of letting Orleans deactivate a stateful grain (and the pipeline
/// restart from its last checkpoint), the grain asks, from its OnDeactivateAsync, to be migrated. Orleans accepts a
/// migration request while an activation is deactivating; the grain's <see cref="IGrainMigrationParticipant"/> then
/// carries its state. The target is another active silo, chosen by the grain's hash so the moved grains spread out.
/// </summary>
internal static class ShutdownMigration
{
    /// <summary>True when the deactivation is a shutdown and a migration to another silo was requested.</summary>
    public static bool TryRequest(Grain grain, DeactivationReason reason, IServiceProvider services)
    {
        if (reason.ReasonCode != DeactivationReasonCode.ShuttingDown)
        {
            return false;
        }

        var self = services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        var targets = new List<SiloAddress>();
        foreach (var member in services.GetRequiredService<IClusterMembershipService>().CurrentSnapshot.Members.Values)
        {
            if (member.Status == SiloStatus.Active && !member.SiloAddress.Equals(self))
            {
                targets.Add(member.SiloAddress);
            }
        }

        if (targets.Count == 0)
        {
            return false; // the last silo: nowhere to go
        }

        targets.Sort((a, b) => string.CompareOrdinal(a.ToParsableString(), b.ToParsableString()));
        return MigrateTo(grain, targets[(int)(grain.GetGrainId().GetUniformHashCode() % (uint)targets.Count)], services);
    }

    /// <summary>
    /// Asks Orleans to migrate <paramref name="grain"/> (from its own turn) to <paramref name="target"/>. Migration captures
    /// the request context, and placement takes the hint as the target. Nothing happens when the target is this silo or
    /// not an active member: Orleans would deactivate the grain first and only then find nowhere else to put it, and a
    /// key group deactivated without migrating has lost its state (the pipeline restarts).
    /// </summary>
    public static bool MigrateTo(Grain grain, SiloAddress target, IServiceProvider services)
    {
        var self = services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        if (target.Equals(self) || services.GetRequiredService<IClusterMembershipService>().CurrentSnapshot.GetSiloStatus(target) != SiloStatus.Active)
        {
            return false;
        }

        RequestContext.Set(IPlacementDirector.PlacementHintKey, target);
        try
        {
            ((IGrainBase)grain).MigrateOnIdle();
        }
        finally
        {
            RequestContext.Remove(IPlacementDirector.PlacementHintKey);
        }

        return true;
    }
}
