using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sluice.Grains;
using Sluice.Pipelines;

namespace Sluice.AspNetCore;

/// <summary>The admin HTTP API: pipeline status, checkpoint history, savepoints, live state queries.</summary>
public static class SluiceApi
{
    /// <summary>
    /// Maps the admin API under <c>/api</c> on a host that runs a Sluice silo (<c>UseOrleans(s =&gt; s.AddSluice())</c>).
    /// With <see cref="SluiceApiOptions.ApiKey"/> set (see <c>AddSluiceApi</c>; required outside Development), every
    /// call must send it in the <c>X-Api-Key</c> header or is answered 401. Also maps the operations endpoints (details,
    /// restarts, cancel, stop with a savepoint, start); health probes are mapped by <c>MapSluiceHealthChecks</c>.
    /// </summary>
    /// <returns>The <c>/api</c> route group, for further conventions (authorization, rate limiting).</returns>
    public static RouteGroupBuilder MapSluiceApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var app = endpoints.MapGroup("/api");
        app.AddEndpointFilter<ApiKeyFilter>();
        app.WithTags("Sluice");
        OperationsApi.MapOperations(app);
        app.MapGet("/pipelines", (PipelineRegistry registry, IGrainFactory grains) => Unavailable503(async () =>
        {
            var result = new List<PipelineView>();
            foreach (var plan in registry.Plans.OrderBy(p => p.Id, StringComparer.Ordinal))
            {
                result.Add(PipelineView.From(await grains.GetGrain<IPipelineGrain>(plan.Id).GetStatusAsync()));
            }

            return Results.Ok(result);
        }));

        app.MapGet("/pipelines/{id}/checkpoints", (string id, PipelineRegistry registry, IGrainFactory grains) => Unavailable503(async () =>
            registry.TryGet(id, out _)
                ? Results.Ok(await grains.GetGrain<ICheckpointCoordinatorGrain>(id).GetHistoryAsync())
                : NotRegistered(id)));

        app.MapGet("/pipelines/{id}/savepoints", (string id, PipelineRegistry registry, IGrainFactory grains) => Unavailable503(async () =>
            registry.TryGet(id, out _)
                ? Results.Ok(await grains.GetGrain<ICheckpointCoordinatorGrain>(id).GetSavepointsAsync())
                : NotRegistered(id)));

        // Triggers a savepoint; it completes asynchronously (poll GET .../savepoints).
        app.MapPost("/pipelines/{id}/savepoints", (string id, SavepointRequest request, PipelineRegistry registry, IGrainFactory grains) => Unavailable503(async () =>
        {
            if (!registry.TryGet(id, out _))
            {
                return NotRegistered(id);
            }

            try
            {
                await grains.GetGrain<ICheckpointCoordinatorGrain>(id).TriggerSavepointAsync(request.Name);
                return Results.Accepted($"/api/pipelines/{id}/savepoints", new { pipeline = id, savepoint = request.Name });
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
            {
                return Results.BadRequest(new { error = ex.Message });
            }
        }));

        app.MapGet("/pipelines/{id}", (string id, PipelineRegistry registry, IGrainFactory grains) => Unavailable503(async () =>
            registry.TryGet(id, out _)
                ? Results.Ok(PipelineView.From(await grains.GetGrain<IPipelineGrain>(id).GetStatusAsync()))
                : NotRegistered(id)));
        app.MapStateQueries();
        return app;
    }

    internal static IResult NotRegistered(string id) => Results.NotFound(new { error = $"No pipeline '{id}' is registered." });

    /// <summary>While a silo is down (until it is declared dead), grains on it cannot answer: say so with 503, not 500.</summary>
    internal static async Task<IResult> Unavailable503(Func<Task<IResult>> handler)
    {
        try
        {
            return await handler();
        }
        catch (Exception ex) when (ex is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException)
        {
            return Results.Problem(ex.Message, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Part of the cluster is unavailable; retry shortly");
        }
    }
}

/// <summary>What the API shows of a pipeline; times as epoch milliseconds plus a readable UTC form.</summary>
public sealed record PipelineView(
    string Id,
    string Status,
    long RecordsIn,
    long RecordsOut,
    long? EventTimeWatermark,
    DateTimeOffset? EventTimeWatermarkUtc,
    int KeyGroups,
    int ActiveKeyGroups,
    long LateRecordsDropped,
    long LateRecordsSideOutput,
    long InvalidRecords,
    long DeadLetters,
    string? LastError,
    RecoveryInfo? Recovery,
    IReadOnlyList<StageStatus> Stages,
    IReadOnlyList<SourcePartitionStatus> Sources)
{
    public static PipelineView From(PipelineStatus s)
    {
        long? watermark = s.EventTimeWatermark is long.MinValue or long.MaxValue ? null : s.EventTimeWatermark;
        return new PipelineView(
            s.Id, s.State.ToString(), s.RecordsIn, s.RecordsOut, watermark,
            watermark is { } w ? DateTimeOffset.FromUnixTimeMilliseconds(w) : null,
            s.KeyGroups, s.ActiveKeyGroups, s.LateRecordsDropped, s.LateRecordsSideOutput, s.InvalidRecords, s.DeadLetters, s.LastError, s.Recovery, s.Stages, s.Sources);
    }
}

/// <summary>Body of POST /api/pipelines/{id}/savepoints.</summary>
public sealed record SavepointRequest(string Name);
