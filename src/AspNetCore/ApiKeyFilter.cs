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
    /// The same check for endpoints that are not route handlers (endpoint filters do not run there, e.g. Orleans'
    /// dashboard): wraps each endpoint's request delegate.
    /// </summary>
    public static TBuilder RequireApiKey<TBuilder>(TBuilder builder)
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
                if (string.IsNullOrEmpty(key) || Presents(context.Request, Encoding.UTF8.GetBytes(key)))
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
