using System.Text.RegularExpressions;
using Azure.Storage.Blobs;

namespace Sluice.Storage;

/// <summary>The store kinds <see cref="CheckpointStorageOptions.Kind"/> accepts (case-insensitive).</summary>
public static class CheckpointStoreKinds
{
    public const string FileSystem = "FileSystem";
    public const string AzureBlob = "AzureBlob";
    public const string S3 = "S3";

    public static readonly IReadOnlyList<string> All = [FileSystem, AzureBlob, S3];
}

/// <summary>
/// Where checkpoints are stored; bound from the <c>Checkpoints</c> configuration section:
/// <c>Checkpoints:Kind</c> (FileSystem, AzureBlob or S3) and one sub-section per kind.
/// </summary>
public sealed class CheckpointStorageOptions
{
    public const string SectionName = "Checkpoints";

    /// <summary>FileSystem (default), AzureBlob or S3.</summary>
    public string Kind { get; set; } = CheckpointStoreKinds.FileSystem;

    public FileSystemCheckpointStoreOptions FileSystem { get; set; } = new();

    public AzureBlobCheckpointStoreOptions AzureBlob { get; set; } = new();

    public S3CheckpointStoreOptions S3 { get; set; } = new();

    /// <summary>The configured kind in its canonical spelling, or null if <see cref="Kind"/> names none.</summary>
    public string? ResolvedKind =>
        string.IsNullOrWhiteSpace(Kind)
            ? CheckpointStoreKinds.FileSystem
            : CheckpointStoreKinds.All.FirstOrDefault(k => string.Equals(k, Kind.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Problems with the settings of the selected kind, each naming the setting by its configuration path under
    /// <paramref name="section"/> (e.g. "Checkpoints:S3:Bucket is empty"); empty when the options are usable.
    /// </summary>
    public IReadOnlyList<string> Validate(string section = SectionName)
    {
        var prefix = string.IsNullOrEmpty(section) ? string.Empty : section + ":";
        return ResolvedKind switch
        {
            CheckpointStoreKinds.FileSystem => FileSystem.Validate(prefix + CheckpointStoreKinds.FileSystem),
            CheckpointStoreKinds.AzureBlob => AzureBlob.Validate(prefix + CheckpointStoreKinds.AzureBlob),
            CheckpointStoreKinds.S3 => S3.Validate(prefix + CheckpointStoreKinds.S3),
            _ => [$"{prefix}Kind '{Kind}' is not a checkpoint store kind; use one of {string.Join(", ", CheckpointStoreKinds.All)}."],
        };
    }
}

/// <summary>Checkpoints in a local (or mounted) folder.</summary>
public sealed class FileSystemCheckpointStoreOptions
{
    public const string DefaultRoot = "./data/checkpoints";

    /// <summary>Folder holding the checkpoints; relative paths are resolved against the current directory.</summary>
    public string Root { get; set; } = DefaultRoot;

    public IReadOnlyList<string> Validate(string section)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Root))
        {
            errors.Add($"{section}:Root is empty; set the folder for checkpoints (default {DefaultRoot}).");
        }
        else if (Root.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            errors.Add($"{section}:Root '{Root}' contains characters that are not valid in a path.");
        }

        return errors;
    }
}

/// <summary>
/// Checkpoints in an Azure Blob container. Authenticate with <see cref="ConnectionString"/> (account key or SAS;
/// also Azurite) or with <see cref="AccountUri"/> and <c>DefaultAzureCredential</c> (managed identity, workload
/// identity, environment, Azure CLI...).
/// </summary>
public sealed partial class AzureBlobCheckpointStoreOptions
{
    public string? ConnectionString { get; set; }

    /// <summary>Blob service URL such as https://myaccount.blob.core.windows.net, used with DefaultAzureCredential.</summary>
    public string? AccountUri { get; set; }

    /// <summary>Container name; created if missing.</summary>
    public string Container { get; set; } = "checkpoints";

    /// <summary>Optional folder inside the container under which every path is stored (e.g. "prod").</summary>
    public string? Prefix { get; set; }

    /// <summary>Retries of a failed request (the Azure SDK's exponential backoff).</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>First retry delay; doubles on each retry.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(0.8);

    /// <summary>Timeout of each network operation of a request.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(100);

    public IReadOnlyList<string> Validate(string section)
    {
        var errors = new List<string>();
        var hasConnectionString = !string.IsNullOrWhiteSpace(ConnectionString);
        var hasAccountUri = !string.IsNullOrWhiteSpace(AccountUri);
        if (!hasConnectionString && !hasAccountUri)
        {
            errors.Add($"{section}:ConnectionString and {section}:AccountUri are both empty; set a storage connection string, "
                + "or the account URL (https://<account>.blob.core.windows.net) to authenticate with DefaultAzureCredential.");
        }
        else if (hasConnectionString && hasAccountUri)
        {
            errors.Add($"{section}:ConnectionString and {section}:AccountUri are both set; set only one.");
        }
        else if (hasConnectionString)
        {
            try
            {
                _ = new BlobServiceClient(ConnectionString);
            }
            catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
            {
                errors.Add($"{section}:ConnectionString is not a valid storage connection string ({e.Message}).");
            }
        }
        else if (!Uri.TryCreate(AccountUri, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            errors.Add($"{section}:AccountUri '{AccountUri}' is not an absolute http(s) URL such as https://<account>.blob.core.windows.net.");
        }

        if (string.IsNullOrWhiteSpace(Container))
        {
            errors.Add($"{section}:Container is empty; set the blob container for checkpoints.");
        }
        else if (!ContainerName().IsMatch(Container))
        {
            errors.Add($"{section}:Container '{Container}' is not a valid container name "
                + "(3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit).");
        }

        errors.AddRange(CommonValidation.Prefix(section, Prefix));
        errors.AddRange(CommonValidation.Retries(section, MaxRetries, Timeout));
        if (RetryDelay < TimeSpan.Zero)
        {
            errors.Add($"{section}:RetryDelay is negative ({RetryDelay}).");
        }

        return errors;
    }

    [GeneratedRegex("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")]
    private static partial Regex ContainerName();
}

/// <summary>How <see cref="S3CheckpointStore"/> makes a commit create-once.</summary>
public enum S3CommitMode
{
    /// <summary>
    /// Probe once whether the endpoint honours <c>If-None-Match: *</c> on PUT; use <see cref="Conditional"/> if it
    /// does, else <see cref="LocalLock"/> (with a warning in the log).
    /// </summary>
    Auto,

    /// <summary>Conditional write (<c>If-None-Match: *</c>), enforced by the server: AWS S3 since August 2024.</summary>
    Conditional,

    /// <summary>
    /// For endpoints that ignore conditional writes (s3rver): check (HEAD) then PUT under a lock that exists only
    /// in this process. Create-once among callers in this process only, not across processes.
    /// </summary>
    LocalLock,
}

/// <summary>Checkpoints in an S3 bucket (AWS or an S3-compatible endpoint such as MinIO or s3rver).</summary>
public sealed class S3CheckpointStoreOptions
{
    public string? Bucket { get; set; }

    /// <summary>Optional folder inside the bucket under which every path is stored (e.g. "prod").</summary>
    public string? Prefix { get; set; }

    /// <summary>AWS region of the bucket (e.g. eu-west-1); with <see cref="ServiceUrl"/>, the signing region (default us-east-1).</summary>
    public string? Region { get; set; }

    /// <summary>Endpoint of an S3-compatible service, e.g. http://127.0.0.1:4568; empty for AWS.</summary>
    public string? ServiceUrl { get; set; }

    /// <summary>Path-style addressing (http://host/bucket/key), needed by most S3-compatible services.</summary>
    public bool ForcePathStyle { get; set; }

    /// <summary>Access key; when empty (with <see cref="SecretKey"/>), the SDK's default credential chain is used.</summary>
    public string? AccessKey { get; set; }

    public string? SecretKey { get; set; }

    /// <summary>Optional session token for temporary credentials.</summary>
    public string? SessionToken { get; set; }

    /// <summary>Create the bucket on first use if it does not exist (needs s3:CreateBucket).</summary>
    public bool CreateBucket { get; set; }

    public S3CommitMode CommitMode { get; set; } = S3CommitMode.Auto;

    /// <summary>Retries of a failed request (the AWS SDK's retry mode).</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>Timeout of one HTTP request.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(100);

    public IReadOnlyList<string> Validate(string section)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Bucket))
        {
            errors.Add($"{section}:Bucket is empty; set the S3 bucket for checkpoints.");
        }
        else if (Bucket.Length is < 3 or > 63 || Bucket.Any(c => !(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.')))
        {
            errors.Add($"{section}:Bucket '{Bucket}' is not a valid bucket name (3-63 lowercase letters, digits, '.' and '-').");
        }

        var hasServiceUrl = !string.IsNullOrWhiteSpace(ServiceUrl);
        if (hasServiceUrl && (!Uri.TryCreate(ServiceUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)))
        {
            errors.Add($"{section}:ServiceUrl '{ServiceUrl}' is not an absolute http(s) URL.");
        }

        if (!hasServiceUrl && string.IsNullOrWhiteSpace(Region))
        {
            errors.Add($"{section}:Region is empty; set the bucket's AWS region (e.g. eu-west-1), or {section}:ServiceUrl for an S3-compatible endpoint.");
        }

        if (string.IsNullOrWhiteSpace(AccessKey) != string.IsNullOrWhiteSpace(SecretKey))
        {
            errors.Add(string.IsNullOrWhiteSpace(AccessKey)
                ? $"{section}:AccessKey is empty but {section}:SecretKey is set; set both, or neither to use the default AWS credential chain."
                : $"{section}:SecretKey is empty but {section}:AccessKey is set; set both, or neither to use the default AWS credential chain.");
        }

        if (!Enum.IsDefined(CommitMode))
        {
            errors.Add($"{section}:CommitMode '{CommitMode}' is not one of {string.Join(", ", Enum.GetNames<S3CommitMode>())}.");
        }

        errors.AddRange(CommonValidation.Prefix(section, Prefix));
        errors.AddRange(CommonValidation.Retries(section, MaxRetries, Timeout));
        return errors;
    }
}

internal static class CommonValidation
{
    public static IEnumerable<string> Prefix(string section, string? prefix)
    {
        var normalized = CheckpointPaths.NormalizeStorePrefix(prefix);
        if (normalized.Length == 0)
        {
            yield break;
        }

        string? problem = null;
        try
        {
            CheckpointPaths.ValidatePath(normalized);
        }
        catch (ArgumentException e)
        {
            problem = e.Message;
        }

        if (problem is not null)
        {
            yield return $"{section}:Prefix '{prefix}' is not a valid folder path: {problem}";
        }
    }

    public static IEnumerable<string> Retries(string section, int maxRetries, TimeSpan timeout)
    {
        if (maxRetries < 0)
        {
            yield return $"{section}:MaxRetries is negative ({maxRetries}).";
        }

        if (timeout <= TimeSpan.Zero)
        {
            yield return $"{section}:Timeout must be positive (is {timeout}).";
        }
    }
}
