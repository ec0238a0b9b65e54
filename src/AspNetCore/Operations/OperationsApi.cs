using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sluice.Grains;
using Sluice.Pipelines;

namespace Sluice.AspNetCore;

/// <summary>
/// The operations part of the admin API: pipeline details, the attempts (restarts with reasons), and the operator's
/// commands cancel, stop-with-savepoint and start (from a savepoint). Commands on a pipeline that takes no checkpoints,
/// or in a state that does not allow them, are answered 409 with the reason; an unknown savepoint 404.
/// </summary>
internal static class OperationsApi
{
    public static void MapOperations(RouteGroupBuilder app)
    {
        app.MapGet("/pipelines/{id}/details", (string id, PipelineRegistry registry, IGrainFactory grains) => SluiceApi.Unavailable503(async () =>
        {
            if (!registry.TryGet(id, out var plan))
            {
                return SluiceApi.NotRegistered(id);
            }

            var status = await grains.GetGrain<IPipelineGrain>(id).GetStatusAsync();
            IReadOnlyList<AttemptInfo> attempts = [];
            IReadOnlyList<CheckpointInfo> checkpoints = [];
            if (plan.Options.CheckpointInterval is not null)
            {
                var coordinator = grains.GetGrain<ICheckpointCoordinatorGrain>(id);
                attempts = await coordinator.GetAttemptsAsync();
                checkpoints = await coordinator.GetHistoryAsync();
            }

            return Results.Ok(PipelineDetails.From(status, attempts, checkpoints, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        }))
            .WithName("GetPipelineDetails")
            .WithSummary("Throughput, watermarks and lag per stage, backpressure, consumer lag, restarts and checkpoints of a pipeline")
            .Produces<PipelineDetails>()
            .Produces(StatusCodes.Status404NotFound);

        app.MapGet("/pipelines/{id}/restarts", (string id, PipelineRegistry registry, IGrainFactory grains) => Command(id, registry, async () =>
            Results.Ok(await grains.GetGrain<ICheckpointCoordinatorGrain>(id).GetAttemptsAsync())))
            .WithName("GetPipelineAttempts")
            .WithSummary("The attempts of a checkpointed pipeline, oldest first; every one after the first is a restart with its reason")
            .Produces<IReadOnlyList<AttemptInfo>>()
            .Produces(StatusCodes.Status404NotFound);

        app.MapPost("/pipelines/{id}/cancel", (string id, PipelineRegistry registry, IGrainFactory grains) => Command(id, registry, async () =>
        {
            await grains.GetGrain<ICheckpointCoordinatorGrain>(id).CancelAsync();
            return Results.Accepted($"/api/pipelines/{id}", new CommandAccepted(id, "cancel", null));
        }))
            .WithName("CancelPipeline")
            .WithSummary("Stops a running pipeline now, without a savepoint; start it again from a savepoint or its newest checkpoint")
            .Produces<CommandAccepted>(StatusCodes.Status202Accepted)
            .Produces(StatusCodes.Status409Conflict);

        app.MapPost("/pipelines/{id}/stop", (string id, StopRequest request, PipelineRegistry registry, IGrainFactory grains) => Command(id, registry, async () =>
        {
            await grains.GetGrain<ICheckpointCoordinatorGrain>(id).StopWithSavepointAsync(request.Savepoint);
            return Results.Accepted($"/api/pipelines/{id}/savepoints", new CommandAccepted(id, "stop-with-savepoint", request.Savepoint));
        }))
            .WithName("StopPipelineWithSavepoint")
            .WithSummary("Takes a savepoint and stops the pipeline once it completes (poll the pipeline's status or its savepoints)")
            .Produces<CommandAccepted>(StatusCodes.Status202Accepted)
            .Produces(StatusCodes.Status400BadRequest)
            .Produces(StatusCodes.Status409Conflict);

        app.MapPost("/pipelines/{id}/start", (string id, StartRequest? request, PipelineRegistry registry, IGrainFactory grains) => Command(id, registry, async () =>
        {
            await grains.GetGrain<ICheckpointCoordinatorGrain>(id).StartAsync(request?.Savepoint);
            return Results.Accepted($"/api/pipelines/{id}", new CommandAccepted(id, "start", request?.Savepoint));
        }))
            .WithName("StartPipeline")
            .WithSummary("Runs a stopped or FAILED pipeline again: from the named savepoint, or without one from its newest checkpoint")
            .Produces<CommandAccepted>(StatusCodes.Status202Accepted)
            .Produces(StatusCodes.Status404NotFound)
            .Produces(StatusCodes.Status409Conflict);
    }

    /// <summary>Runs a command on a registered pipeline and answers its refusals with the reason.</summary>
    private static Task<IResult> Command(string id, PipelineRegistry registry, Func<Task<IResult>> command) => SluiceApi.Unavailable503(async () =>
    {
        if (!registry.TryGet(id, out _))
        {
            return SluiceApi.NotRegistered(id);
        }

        try
        {
            return await command();
        }
        catch (KeyNotFoundException ex)
        {
            return Results.NotFound(new { error = ex.Message });
        }
        catch (ArgumentException ex)
        {
            return Results.BadRequest(new { error = ex.Message });
        }
        catch (InvalidOperationException ex)
        {
            return Results.Conflict(new { error = ex.Message });
        }
    });
}
