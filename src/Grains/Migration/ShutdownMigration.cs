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
        var target = targets[(int)(grain.GetGrainId().GetUniformHashCode() % (uint)targets.Count)];
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
