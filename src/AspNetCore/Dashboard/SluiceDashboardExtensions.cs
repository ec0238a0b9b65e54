using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Dashboard;
using Sluice.AspNetCore;
using Sluice.Pipelines;

namespace Sluice.Dashboard;

/// <summary>
/// Sluice's dashboard: one page at <c>/</c> (pipelines, live throughput and watermark lag, the stage graph,
/// checkpoints, restarts, state queries) that reads the admin API, and Orleans' own dashboard for grains and silos
/// at <see cref="OrleansDashboardPath"/>, linked from it.
/// </summary>
public static class SluiceDashboardExtensions
{
    /// <summary>Where Orleans' dashboard (grains, silos) is mapped.</summary>
    public const string OrleansDashboardPath = "/orleans";

    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
    };

    /// <summary>Adds Orleans' dashboard services to the silo (every silo of the cluster needs them).</summary>
    public static ISiloBuilder AddSluiceDashboard(this ISiloBuilder silo)
    {
        silo.Services.AddSingleton<OrleansDashboardAdded>();
        return silo.AddDashboard();
    }

    /// <summary>
    /// Maps the Sluice page at <c>/</c>, its files under <c>/dashboard/</c>, and Orleans' dashboard. The page and its
    /// files hold no data and no key, so they are served to anyone; with <see cref="SluiceApiOptions.ApiKey"/> set, the
    /// page's data endpoints (the admin API and the stage graph) answer 401 without the key in <c>X-Api-Key</c>, and the
    /// page asks the user for it. Orleans' dashboard then needs the key too: its pages cannot send the header, so once
    /// the key works the Sluice page trades it (<c>POST /dashboard/session</c>) for an HttpOnly, SameSite=Strict cookie
    /// scoped to <see cref="OrleansDashboardPath"/>, which Orleans' dashboard accepts in place of the header.
    /// </summary>
    public static IEndpointRouteBuilder MapSluiceDashboard(this IEndpointRouteBuilder endpoints)
    {
        var assembly = typeof(SluiceDashboardExtensions).Assembly;
        endpoints.MapGet("/", () => Asset(assembly, "index.html")).ExcludeFromDescription();
        endpoints.MapGet("/dashboard/{file}", (string file) => Asset(assembly, file)).ExcludeFromDescription();

        // What the page needs beyond the admin API: how stages connect, from the registered plan.
        endpoints.MapGet("/dashboard/api/pipelines/{id}/graph", (string id, PipelineRegistry registry) =>
            registry.TryGet(id, out var plan)
                ? Results.Ok(StageGraph.From(plan))
                : Results.NotFound(new { error = $"No pipeline '{id}' is registered." }))
            .AddEndpointFilter<ApiKeyFilter>()
            .ExcludeFromDescription();

        if (endpoints.ServiceProvider.GetService<OrleansDashboardAdded>() is not null)
        {
            endpoints.MapPost("/dashboard/session", (HttpContext context, IOptions<SluiceApiOptions> options) =>
                {
                    if (options.Value.ApiKey is { Length: > 0 } key)
                    {
                        context.Response.Cookies.Append(ApiKeyFilter.SessionCookieName, ApiKeyFilter.SessionToken(key), new CookieOptions
                        {
                            Path = OrleansDashboardPath,
                            HttpOnly = true,
                            SameSite = SameSiteMode.Strict,
                            Secure = context.Request.IsHttps,
                            IsEssential = true,
                        });
                    }

                    return Results.NoContent();
                })
                .AddEndpointFilter<ApiKeyFilter>()
                .ExcludeFromDescription();
            ApiKeyFilter.RequireApiKey(endpoints.MapOrleansDashboard(OrleansDashboardPath), acceptSession: true);
        }

        return endpoints;
    }

    private static IResult Asset(Assembly assembly, string file)
    {
        var extension = Path.GetExtension(file);
        if (!ContentTypes.TryGetValue(extension, out var contentType) || assembly.GetManifestResourceStream("Sluice.Dashboard." + file) is not { } stream)
        {
            return Results.NotFound();
        }

        return Results.Stream(stream, contentType);
    }

    /// <summary>Says <see cref="AddSluiceDashboard"/> ran, so Orleans' dashboard has its services.</summary>
    private sealed class OrleansDashboardAdded;
}
