using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Sluice.AspNetCore;

/// <summary>Registers the settings of the admin API.</summary>
public static class SluiceApiServiceCollectionExtensions
{
    /// <summary>
    /// Registers the admin API's settings (configured in code here), its JSON options and the pipelines' readiness check.
    /// Outside Development an API key is required: the host refuses to start without one.
    /// </summary>
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
        services.TryAddSingleton(TimeProvider.System);
        services.AddHealthChecks().AddCheck<PipelinesHealthCheck>("sluice-pipelines", tags: [SluiceHealthChecks.ReadyTag]);
        return services.AddOptions<SluiceApiOptions>().ValidateOnStart();
    }
}

/// <summary>Rejects a missing API key outside Development, a key that cannot be sent in a header, and a readiness limit below 2.</summary>
internal sealed class SluiceApiOptionsValidator(IHostEnvironment environment) : IValidateOptions<SluiceApiOptions>
{
    public ValidateOptionsResult Validate(string? name, SluiceApiOptions options)
    {
        List<string> failures = [];
        if (string.IsNullOrEmpty(options.ApiKey) && !environment.IsDevelopment())
        {
            failures.Add($"{SluiceApiOptions.SectionName}:ApiKey is not set: outside the Development environment the admin API requires a key "
                + $"(clients send it in the {ApiKeyFilter.HeaderName} header). Set {SluiceApiOptions.SectionName}:ApiKey "
                + $"(environment variable Sluice__Api__ApiKey), or run in Development (environment '{environment.EnvironmentName}' now).");
        }
        else if (options.ApiKey is { Length: > 0 } key && (key.Trim().Length != key.Length || key.Any(char.IsControl)))
        {
            failures.Add($"{SluiceApiOptions.SectionName}:ApiKey must not start or end with white space nor contain control characters.");
        }

        if (options.StaleCheckpointIntervals < 2)
        {
            failures.Add($"{SluiceApiOptions.SectionName}:StaleCheckpointIntervals must be at least 2; it was {options.StaleCheckpointIntervals}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
