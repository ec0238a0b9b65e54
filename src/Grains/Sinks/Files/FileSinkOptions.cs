using Sluice.Storage;

namespace Sluice.Sinks.Files;

/// <summary>
/// Where a <see cref="FileSink{T}"/> writes: a folder (<see cref="Prefix"/>) in a blob store (<see cref="Storage"/>,
/// the same settings as checkpoint storage: local file system, Azure Blob or S3).
/// </summary>
/// <remarks>
/// Part files are named after the checkpoint that commits them. The checkpoint coordinator never reuses an id its
/// checkpoint store has seen, so a prefix can be written by many runs of one pipeline as long as its checkpoint store
/// is kept; a run against an emptied checkpoint store needs a new prefix. Each sink needs a prefix of its own.
/// </remarks>
public sealed class FileSinkOptions
{
    /// <summary>Configuration path used to name settings in validation errors, e.g. "FileSink:Prefix".</summary>
    public const string SectionName = "FileSink";

    /// <summary>Default folder of the file system store, relative to the current directory.</summary>
    public const string DefaultRoot = "./data/files";

    /// <summary>The folder, inside the store, holding this sink's part files, e.g. "clicks/top-users".</summary>
    public string Prefix { get; set; } = string.Empty;

    /// <summary>The store: <c>Kind</c> FileSystem (default, under <see cref="DefaultRoot"/>), AzureBlob or S3.</summary>
    public CheckpointStorageOptions Storage { get; set; } = new() { FileSystem = new FileSystemCheckpointStoreOptions { Root = DefaultRoot } };

    /// <summary><see cref="Prefix"/> without the slashes around it.</summary>
    internal string NormalizedPrefix => CheckpointPaths.NormalizeStorePrefix(Prefix);

    /// <summary>
    /// Problems with the settings, each naming the setting by its configuration path under
    /// <paramref name="section"/> (e.g. "FileSink:Storage:S3:Bucket is empty"); empty when the options are usable.
    /// </summary>
    public IReadOnlyList<string> Validate(string section = SectionName)
    {
        var prefix = string.IsNullOrEmpty(section) ? string.Empty : section + ":";
        var errors = new List<string>();
        var folder = NormalizedPrefix;
        if (folder.Length == 0)
        {
            errors.Add($"{prefix}Prefix is empty; set the folder for the sink's part files (one per sink, e.g. \"pipeline/output\").");
        }
        else
        {
            try
            {
                CheckpointPaths.ValidatePath(folder);
                if (folder.Split('/').Contains(FilePartPaths.StagingFolder))
                {
                    errors.Add($"{prefix}Prefix '{Prefix}' contains a '{FilePartPaths.StagingFolder}' folder, which is where the sink stages its parts.");
                }
            }
            catch (ArgumentException e)
            {
                errors.Add($"{prefix}Prefix '{Prefix}' is not a usable path: {e.Message}");
            }
        }

        if (Storage is null)
        {
            errors.Add($"{prefix}Storage is not set.");
        }
        else
        {
            errors.AddRange(Storage.Validate(prefix + nameof(Storage)));
        }

        return errors;
    }
}
