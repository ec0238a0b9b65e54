using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Sluice.AspNetCore;

/// <summary>Registers the settings of the admin API.</summary>
public static class SluiceApiServiceCollectionExtensions
{
    /// <summary>Configures the admin API in code (an API key, for example). Optional: without it the API is open.</summary>
    public static IServiceCollection AddSluiceApi(this IServiceCollection services, Action<SluiceApiOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = AddCore(services);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return services;
    }

    /// <summary>Binds the admin API's settings from <paramref name="section"/> (usually <c>Sluice:Api</c>).</summary>
    public static IServiceCollection AddSluiceApi(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        AddCore(services).Bind(section);
        return services;
    }

    private static OptionsBuilder<SluiceApiOptions> AddCore(IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(o =>
        {
            if (!o.SerializerOptions.Converters.Any(c => c is JsonStringEnumConverter))
            {
                o.SerializerOptions.Converters.Add(new JsonStringEnumConverter());
            }
        });
        services.AddSingleton<IValidateOptions<SluiceApiOptions>, SluiceApiOptionsValidator>();
        return services.AddOptions<SluiceApiOptions>().ValidateOnStart();
    }
}

/// <summary>Rejects an API key that cannot be sent in a header.</summary>
internal sealed class SluiceApiOptionsValidator : IValidateOptions<SluiceApiOptions>
{
    public ValidateOptionsResult Validate(string? name, SluiceApiOptions options) =>
        options.ApiKey is { Length: > 0 } key && (key.Trim().Length != key.Length || key.Any(char.IsControl))
            ? ValidateOptionsResult.Fail($"{SluiceApiOptions.SectionName}:ApiKey must not start or end with white space nor contain control characters.")
            : ValidateOptionsResult.Success;
}
