using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Sluice.Storage;

/// <summary>Builds the checkpoint store that <see cref="CheckpointStorageOptions.Kind"/> selects.</summary>
internal static class CheckpointStoreFactory
{
    /// <summary>
    /// Validates <paramref name="options"/> and creates the store; no request is sent until the store is used.
    /// Invalid settings throw <see cref="OptionsValidationException"/> whose failures name each setting by its
    /// configuration path under <paramref name="section"/>.
    /// </summary>
    public static ICheckpointStore Create(CheckpointStorageOptions options, ILoggerFactory? loggerFactory = null, string section = CheckpointStorageOptions.SectionName)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate(section);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(section, typeof(CheckpointStorageOptions), errors);
        }

        return options.ResolvedKind switch
        {
            CheckpointStoreKinds.AzureBlob => new AzureBlobCheckpointStore(options.AzureBlob),
            CheckpointStoreKinds.S3 => new S3CheckpointStore(options.S3, loggerFactory?.CreateLogger<S3CheckpointStore>()),
            _ => new FileSystemCheckpointStore(options.FileSystem),
        };
    }
}
