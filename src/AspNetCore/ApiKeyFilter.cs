using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
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

        var presented = Encoding.UTF8.GetBytes(context.HttpContext.Request.Headers[HeaderName].ToString());
        return CryptographicOperations.FixedTimeEquals(presented, _key)
            ? next(context)
            : ValueTask.FromResult<object?>(Results.Unauthorized());
    }
}
