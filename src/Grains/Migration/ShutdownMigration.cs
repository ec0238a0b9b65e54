using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime.Placement;

namespace Sluice.Migration;

/// <summary>
/// How a stateful grain asks to be moved. <see cref="MigrateTo"/> serves every planned move (a request, the graceful
/// shutdown's <see cref="PlannedShutdown"/>). <see cref="TryRequest"/> is the last resort of a shutdown: a grain still on
/// the silo when Orleans deactivates it asks, from its OnDeactivateAsync, to be migrated instead (Orleans accepts a
/// migration request while an activation is deactivating), to another active silo chosen by the grain's hash.
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

        var targets = OtherActiveSilos(services);
        return targets.Count > 0 && MigrateTo(grain, TargetFor(grain.GetPrimaryKeyString(), targets), services);
    }

    /// <summary>The active silos other than this one, in a stable order.</summary>
    public static List<SiloAddress> OtherActiveSilos(IServiceProvider services)
    {
        var self = services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        var targets = new List<SiloAddress>();
        foreach (var member in services.GetRequiredService<IClusterMembershipService>().CurrentSnapshot.Members.Values)
        {
            if (member.Status == SiloStatus.Active && !member.SiloAddress.Equals(self))
            {
                targets.Add(member.SiloAddress);
            }
        }

        targets.Sort((a, b) => string.CompareOrdinal(a.ToParsableString(), b.ToParsableString()));
        return targets;
    }

    /// <summary>True when this silo is no longer active and no other silo is: the cluster is going away with it.</summary>
    public static bool LastSiloLeaving(IServiceProvider services)
    {
        var self = services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        var snapshot = services.GetRequiredService<IClusterMembershipService>().CurrentSnapshot;
        if (snapshot.GetSiloStatus(self) == SiloStatus.Active)
        {
            return false;
        }

        foreach (var member in snapshot.Members.Values)
        {
            if (member.Status == SiloStatus.Active && !member.SiloAddress.Equals(self))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Spreads moved grains over <paramref name="targets"/> by a stable hash of their key.</summary>
    public static SiloAddress TargetFor(string key, List<SiloAddress> targets) =>
        targets[(int)(KeyGroups.Murmur3.Hash32(System.Text.Encoding.UTF8.GetBytes(key)) % (uint)targets.Count)];

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
