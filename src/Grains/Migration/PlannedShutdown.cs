using Microsoft.Extensions.Logging;
using Sluice.Checkpointing;
using Sluice.KeyGroups;
using Sluice.Pipelines;

namespace Sluice.Migration;

/// <summary>
/// Moves this silo's key groups and checkpoint coordinators to the other silos when it shuts down gracefully, before
/// it tells the cluster it is leaving. Orleans' own shutdown deactivates every grain after the silo is marked
/// ShuttingDown; by then other silos already treat its activations as gone and may activate a key group afresh
/// elsewhere while its state is still on the way, which would restart the pipeline. Moving first, while this silo is
/// still an active member, is an ordinary migration. Coordinators hear first that the silo leaves on purpose, so its
/// disappearance later is not taken for a crash.
/// <para>
/// The grains are <c>[Immovable]</c>: Orleans 10 would otherwise, on its own, try to migrate an activation that still
/// has queued requests when its silo shuts down. Those moves would carry no state (this class and
/// <see cref="ShutdownMigration"/> decide what moves, with what), and on the last silo of a cluster they fail with an
/// error-level log because no silo can take them. Moves asked for here still happen: Immovable only stops automatic ones.
/// </para>
/// </summary>
internal sealed partial class PlannedShutdown(
    LocalMovableGrains local, LastSiloDeparture departure, PipelineRegistry registry, IGrainFactory grains, ILocalSiloDetails silo, IServiceProvider services,
    ILogger<PlannedShutdown> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    private static readonly TimeSpan AskAgainAfter = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(15);

    // Stopping runs from the last stage to the first: this runs before the stream agents stop (Active) and before
    // the silo announces ShuttingDown and deactivates its grains (BecomeActive).
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(PlannedShutdown), ServiceLifecycleStage.Active + 1, _ => Task.CompletedTask, MoveEverythingAsync);

    private async Task MoveEverythingAsync(CancellationToken cancellationToken)
    {
        var targets = ShutdownMigration.OtherActiveSilos(services);
        if (targets.Count == 0)
        {
            departure.Begin(); // the last silo: the pipeline resumes from its checkpoint when the cluster returns
            return;
        }

        // Always, even with no key group or coordinator here: the silo may read source partitions (handed over as its
        // stream agents stop), and a coordinator that misses the ShuttingDown status in the membership table (a silo
        // with little to do stops within one of its ticks) would otherwise take the silo's end for a crash.
        foreach (var plan in registry.Plans)
        {
            if (plan.Options.CheckpointInterval is not null)
            {
                await TryAsync(() => grains.GetGrain<ICheckpointProtocolGrain>(plan.Id).SiloLeavingAsync(silo.SiloAddress), $"tell the coordinator of {plan.Id}");
            }
        }

        if (local.Count == 0)
        {
            return; // nothing to move
        }

        var started = Environment.TickCount64;
        var asked = 0;
        while (local.Count > 0 && !cancellationToken.IsCancellationRequested && Environment.TickCount64 - started < GiveUpAfter.TotalMilliseconds)
        {
            targets = ShutdownMigration.OtherActiveSilos(services);
            if (targets.Count == 0)
            {
                break;
            }

            var requests = new List<Task>();
            foreach (var key in local.KeyGroups)
            {
                requests.Add(TryAsync(() => grains.GetGrain<IKeyGroupGrain>(key).MigrateAsync(ShutdownMigration.TargetFor(key, targets)), $"move {key}"));
            }

            foreach (var pipeline in local.Coordinators)
            {
                requests.Add(TryAsync(() => grains.GetGrain<ICheckpointProtocolGrain>(pipeline).MigrateAsync(ShutdownMigration.TargetFor(pipeline, targets)), $"move the coordinator of {pipeline}"));
            }

            asked += requests.Count;
            await Task.WhenAll(requests);
            var until = Environment.TickCount64 + (long)AskAgainAfter.TotalMilliseconds;
            while (local.Count > 0 && Environment.TickCount64 < until && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(50, CancellationToken.None);
            }
        }

        LogMoved(logger, asked, local.Count, Environment.TickCount64 - started);
    }

    private async Task TryAsync(Func<Task> call, string what)
    {
        try
        {
            await call();
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Shutting down: could not {What}", what);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Shutting down: {Asked} move requests sent, {Left} stateful grains still here after {Elapsed} ms (they are deactivated; the pipeline restarts if they held state)")]
    private static partial void LogMoved(ILogger logger, int asked, int left, long elapsed);
}
