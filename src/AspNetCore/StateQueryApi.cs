using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sluice.Queries;

namespace Sluice.AspNetCore;

/// <summary>Live state queries over HTTP: <c>GET /api/pipelines/{id}/state/{name}/{key}</c>.</summary>
internal static class StateQueryApi
{
    /// <summary>
    /// Maps the state query endpoint into the admin API group. The key is text, parsed as the state's key type (strings as
    /// they are; numbers, Guids and enum names in the invariant culture). 200 with <c>found</c> false when the key has no
    /// value; 404 for an unknown pipeline or state; 400 for a key that is not of the state's key type; 503 (with
    /// Retry-After) while the key's group restores from a checkpoint or part of the cluster is unavailable.
    /// </summary>
    public static void MapStateQueries(this RouteGroupBuilder api) =>
        api.MapGet("/pipelines/{id}/state/{name}/{key}", async (string id, string name, string key, IGrainFactory grains) =>
        {
            try
            {
                var answer = await grains.GetGrain<IStateQueryGrain>(id).QueryTextAsync(name, key);
                return Results.Ok(StateQueryView.From(id, name, key, answer));
            }
            catch (PipelineNotFoundException ex)
            {
                return Results.NotFound(new { error = ex.Message });
            }
            catch (QueryableStateNotFoundException ex)
            {
                return Results.NotFound(new { error = ex.Message });
            }
            catch (QueryableStateTypeException ex)
            {
                return Results.BadRequest(new { error = ex.Message });
            }
            catch (Exception ex) when (ex is KeyGroupRestoringException or SiloUnavailableException or OrleansMessageRejectionException or TimeoutException)
            {
                return new RetryLater(ex.Message);
            }
        });

    /// <summary>503 with Retry-After: the answer will come once the key group has restored or the silo is replaced.</summary>
    private sealed class RetryLater(string message) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = "1";
            return Results.Problem(message, statusCode: StatusCodes.Status503ServiceUnavailable, title: "The state is not available right now; retry shortly")
                .ExecuteAsync(httpContext);
        }
    }
}

/// <summary>
/// The HTTP form of a live state query's answer: the value (JSON of the state's value type), the key group's event-time
/// watermark (epoch milliseconds and UTC; null before any), and the pipeline's last completed checkpoint (null: none).
/// </summary>
public sealed record StateQueryView(
    string Pipeline,
    string State,
    string Key,
    bool Found,
    object? Value,
    long? EventTimeWatermark,
    DateTimeOffset? EventTimeWatermarkUtc,
    long? LastCompletedCheckpointId,
    int KeyGroup)
{
    internal static StateQueryView From(string pipeline, string state, string key, StateQueryAnswer answer)
    {
        var typed = answer.As<object>(pipeline, state);
        long? watermark = typed.EventTimeWatermark is long.MaxValue ? null : typed.EventTimeWatermark;
        return new StateQueryView(
            pipeline, state, key, typed.Found, typed.Value, typed.EventTimeWatermark, watermark is { } w ? DateTimeOffset.FromUnixTimeMilliseconds(w) : null,
            typed.LastCompletedCheckpointId, typed.KeyGroup);
    }
}
