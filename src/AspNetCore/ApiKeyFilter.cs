using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Sluice.AspNetCore;

/// <summary>Answers 401 to API calls without the configured <c>X-Api-Key</c>; compares in constant time.</summary>
internal sealed class ApiKeyFilter(IOptions<SluiceApiOptions> options) : IEndpointFilter
{
    public const string HeaderName = "X-Api-Key";

    private readonly byte[]? _key = string.IsNullOrEmpty(options.Value.ApiKey) ? null : Encoding.UTF8.GetBytes(options.Value.ApiKey);

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (_key is null)
        {
            return next(context);
        }

        return Presents(context.HttpContext.Request, _key) ? next(context) : ValueTask.FromResult<object?>(Results.Unauthorized());
    }

    private static bool Presents(HttpRequest request, byte[] key) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(request.Headers[HeaderName].ToString()), key);

    /// <summary>
    /// The dashboard session: a browser page cannot add a header to the requests of a page it did not write (Orleans'
    /// dashboard), so the Sluice page, once its key works, trades it for this cookie, scoped to that dashboard's path.
    /// The cookie holds an HMAC of a fixed label under the key, never the key, and is the same on every silo that shares
    /// the key. HttpOnly and SameSite=Strict: scripts cannot read it and other sites cannot make a browser send it.
    /// </summary>
    public const string SessionCookieName = "Sluice-Dashboard";

    public static string SessionToken(string key) =>
        Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), "sluice-orleans-dashboard"u8))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static bool PresentsSession(HttpRequest request, string key) =>
        request.Cookies.TryGetValue(SessionCookieName, out var cookie)
        && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(cookie), Encoding.UTF8.GetBytes(SessionToken(key)));

    /// <summary>
    /// The same check for endpoints that are not route handlers (endpoint filters do not run there, e.g. Orleans'
    /// dashboard): wraps each endpoint's request delegate. With <paramref name="acceptSession"/> the dashboard session
    /// cookie (<see cref="SessionCookieName"/>) is taken in place of the header.
    /// </summary>
    public static TBuilder RequireApiKey<TBuilder>(TBuilder builder, bool acceptSession = false)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(endpoint =>
        {
            if (endpoint.RequestDelegate is not { } inner)
            {
                return;
            }

            endpoint.RequestDelegate = context =>
            {
                var key = context.RequestServices.GetRequiredService<IOptions<SluiceApiOptions>>().Value.ApiKey;
                if (string.IsNullOrEmpty(key) || Presents(context.Request, Encoding.UTF8.GetBytes(key)) || (acceptSession && PresentsSession(context.Request, key)))
                {
                    return inner(context);
                }

                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return Task.CompletedTask;
            };
        });
        return builder;
    }
}
