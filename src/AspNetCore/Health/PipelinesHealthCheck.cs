using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Sluice.Grains;
using Sluice.Pipelines;

namespace Sluice.AspNetCore;

/// <summary>
/// Readiness of the pipelines this silo runs: Unhealthy when one is FAILED, has not started yet, or (checkpointed and
/// running) has completed no checkpoint for <see cref="SluiceApiOptions.StaleCheckpointIntervals"/> checkpoint
/// intervals; Degraded while one restarts or was stopped by an operator; Healthy otherwise (running or finished).
/// </summary>
internal sealed class PipelinesHealthCheck(PipelineRegistry registry, IGrainFactory grains, IOptions<SluiceApiOptions> options, TimeProvider clock) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var worst = HealthStatus.Healthy;
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var reasons = new List<string>();
        try
        {
            foreach (var plan in registry.Plans)
            {
                var (health, reason) = await CheckAsync(plan);
                data[plan.Id] = reason;
                if (health < worst)
                {
                    worst = health;
                }

                if (health != HealthStatus.Healthy)
                {
                    reasons.Add($"{plan.Id}: {reason}");
                }
            }
        }
        catch (Exception ex) when (ex is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("Part of the cluster is unavailable", ex);
        }

        var description = reasons.Count == 0 ? $"{data.Count} pipeline(s) running or finished" : string.Join("; ", reasons);
        return new HealthCheckResult(worst, description, data: data);
    }

    private async Task<(HealthStatus, string)> CheckAsync(PipelinePlan plan)
    {
        var status = await grains.GetGrain<IPipelineGrain>(plan.Id).GetStatusAsync();
        switch (status.State)
        {
            case PipelineState.Failed:
                return (HealthStatus.Unhealthy, $"FAILED: {status.LastError}");
            case PipelineState.Created:
                return (HealthStatus.Unhealthy, "not started yet (no task has reported)");
            case PipelineState.Stopped:
                return (HealthStatus.Degraded, status.Recovery?.StopReason ?? "stopped");
            case PipelineState.Finished:
                return (HealthStatus.Healthy, "finished");
        }

        if (plan.Options.CheckpointInterval is not { } interval || status.Recovery is not { } recovery)
        {
            return (HealthStatus.Healthy, "running");
        }

        if (recovery.Restarting)
        {
            return (HealthStatus.Degraded, $"restarting: {recovery.LastRestartReason}");
        }

        // The newest completed checkpoint, or the start of the attempt when none completed since.
        var history = await grains.GetGrain<ICheckpointCoordinatorGrain>(plan.Id).GetHistoryAsync();
        var since = recovery.AttemptStartedAt;
        foreach (var c in history)
        {
            var completedAt = c.StartedAt.AddMilliseconds(c.DurationMilliseconds);
            if (c.State == CheckpointState.Completed && completedAt > since)
            {
                since = completedAt;
            }
        }

        var age = clock.GetUtcNow() - since;
        var limit = interval * options.Value.StaleCheckpointIntervals;
        return age > limit
            ? (HealthStatus.Unhealthy, $"no checkpoint completed for {Seconds(age)} (more than {options.Value.StaleCheckpointIntervals} checkpoint intervals of {Seconds(interval)})")
            : (HealthStatus.Healthy, "running");
    }

    /// <summary>Seconds with a decimal under a minute (a 200 ms interval reads "0.2 s", not "0 s").</summary>
    private static string Seconds(TimeSpan span) =>
        span.TotalSeconds.ToString(span < TimeSpan.FromMinutes(1) ? "0.#" : "F0", System.Globalization.CultureInfo.InvariantCulture) + " s";
}
