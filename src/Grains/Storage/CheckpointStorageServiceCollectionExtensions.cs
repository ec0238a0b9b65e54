using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Sluice.Storage;

/// <summary>Registers <see cref="ICheckpointStore"/> for a host.</summary>
public static class CheckpointStorageServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="CheckpointStorageOptions"/> from <paramref name="section"/> (usually
    /// <c>configuration.GetSection("Checkpoints")</c>) and registers the store it selects as a singleton.
    /// Invalid settings fail the host at start with messages naming each setting (e.g. "Checkpoints:S3:Bucket is empty").
    /// </summary>
    public static IServiceCollection AddSluiceCheckpointStorage(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var path = section is IConfigurationSection s ? s.Path : CheckpointStorageOptions.SectionName;
        services.AddOptions<CheckpointStorageOptions>().Bind(section);
        return AddStore(services, path);
    }

    /// <summary>Registers the store with options set in code (defaults: file system under ./data/checkpoints).</summary>
    public static IServiceCollection AddSluiceCheckpointStorage(this IServiceCollection services, Action<CheckpointStorageOptions>? configure = null)
    {
        var builder = services.AddOptions<CheckpointStorageOptions>();
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        return AddStore(services, CheckpointStorageOptions.SectionName);
    }

    private static IServiceCollection AddStore(IServiceCollection services, string section)
    {
        services.AddSingleton<IValidateOptions<CheckpointStorageOptions>>(new CheckpointStorageOptionsValidator(section));
        services.AddOptions<CheckpointStorageOptions>().ValidateOnStart();
        services.TryAddSingleton<ICheckpointStore>(sp => CheckpointStoreFactory.Create(
            sp.GetRequiredService<IOptions<CheckpointStorageOptions>>().Value,
            sp.GetService<ILoggerFactory>(),
            section));
        return services;
    }

    private sealed class CheckpointStorageOptionsValidator(string section) : IValidateOptions<CheckpointStorageOptions>
    {
        public ValidateOptionsResult Validate(string? name, CheckpointStorageOptions options)
        {
            var errors = options.Validate(section);
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
