using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Sluice.AspNetCore;

/// <summary>Liveness and readiness endpoints for probes (Kubernetes, Azure Container Apps); never behind the API key.</summary>
public static class SluiceHealthChecks
{
    /// <summary>The tag of the readiness checks; <c>AddSluiceApi</c> registers the pipelines' check with it.</summary>
    public const string ReadyTag = "sluice-ready";

    /// <summary>
    /// Maps <c>{prefix}/live</c> (200 while the process answers: no check runs) and <c>{prefix}/ready</c> (the checks
    /// tagged <see cref="ReadyTag"/>: 503 when a pipeline is FAILED, not started or has completed no checkpoint for too
    /// long; see <see cref="SluiceApiOptions.StaleCheckpointIntervals"/>). Both answer JSON with each check's reason.
    /// </summary>
    public static IEndpointConventionBuilder MapSluiceHealthChecks(this IEndpointRouteBuilder endpoints, string prefix = "/health")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup(prefix);
        group.MapHealthChecks("/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync });
        group.MapHealthChecks("/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync });
        return group;
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new Dictionary<string, object?>
        {
            ["status"] = report.Status.ToString(),
            ["checks"] = report.Entries.ToDictionary(
                e => e.Key,
                e => new { status = e.Value.Status.ToString(), description = e.Value.Description, data = e.Value.Data }),
        };
        return JsonSerializer.SerializeAsync(context.Response.Body, body, cancellationToken: context.RequestAborted);
    }
}
