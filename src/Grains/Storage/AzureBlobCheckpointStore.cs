using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Sluice.Storage;

/// <summary>
/// Checkpoints as block blobs in one Azure Blob container (created on first use if missing), optionally under a
/// prefix folder. A put is a single Put Blob (or a block list commit for large data), which Azure makes visible
/// whole. <see cref="CommitAsync"/> is a Put Blob with <c>If-None-Match: *</c>: the service creates the blob only
/// if none exists (409 BlobAlreadyExists otherwise), so exactly one concurrent commit wins, across processes.
/// Each commit carries a random token in the blob's metadata, so a commit whose response was lost and whose
/// retry then hits "already exists" still recognises its own blob and returns true.
/// </summary>
internal sealed class AzureBlobCheckpointStore : ICheckpointStore, IDisposable
{
    private const string CommitTokenKey = "sluicecommit";

    private readonly BlobContainerClient _container;
    private readonly string _prefix;
    private readonly SemaphoreSlim _containerLock = new(1, 1);
    private volatile bool _containerReady;

    public AzureBlobCheckpointStore(AzureBlobCheckpointStoreOptions options)
        : this(options, CreateContainerClient(options))
    {
    }

    /// <summary>Uses a prepared container client (tests, or hosts that build their own).</summary>
    public AzureBlobCheckpointStore(AzureBlobCheckpointStoreOptions options, BlobContainerClient container)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(container);
        _container = container;
        _prefix = CheckpointPaths.NormalizeStorePrefix(options.Prefix);
        var location = container.Uri.GetLeftPart(UriPartial.Path);
        Name = $"Azure Blob checkpoint store at '{location}{(_prefix.Length == 0 ? string.Empty : "/" + _prefix)}'";
    }

    public string Name { get; }

    public Task PutAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        CheckpointPaths.ValidatePath(path);
        return Run("put", path, async () =>
        {
            await Blob(path).UploadAsync(BinaryData.FromBytes(data), overwrite: true, cancellationToken);
            return true;
        }, cancellationToken);
    }

    public Task<byte[]?> GetAsync(string path, CancellationToken cancellationToken = default)
    {
        CheckpointPaths.ValidatePath(path);
        return Run<byte[]?>("get", path, async () =>
        {
            try
            {
                var result = await Blob(path).DownloadContentAsync(cancellationToken);
                return result.Value.Content.ToArray();
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                return null;
            }
        }, cancellationToken);
    }

    public Task<bool> CommitAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        CheckpointPaths.ValidatePath(path);
        return Run("commit", path, async () =>
        {
            var blob = Blob(path);
            var token = Guid.NewGuid().ToString("N");
            try
            {
                await blob.UploadAsync(BinaryData.FromBytes(data), new BlobUploadOptions
                {
                    Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                    Metadata = new Dictionary<string, string> { [CommitTokenKey] = token },
                }, cancellationToken);
                return true;
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412 && e.ErrorCode is not "ContainerNotFound")
            {
                // BlobAlreadyExists (409) or ConditionNotMet (412): someone committed first, unless it was our own
                // earlier attempt whose response was lost and that the SDK retried.
                try
                {
                    var properties = await blob.GetPropertiesAsync(cancellationToken: cancellationToken);
                    return properties.Value.Metadata.TryGetValue(CommitTokenKey, out var stored) && stored == token;
                }
                catch (RequestFailedException missing) when (missing.Status == 404)
                {
                    return false; // deleted since: it existed when we tried, so this commit did not happen
                }
            }
        }, cancellationToken);
    }

    public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        CheckpointPaths.ValidatePrefix(prefix);
        return Run<IReadOnlyList<string>>("list", prefix, async () =>
        {
            var result = new List<string>();
            var keyPrefix = _prefix.Length == 0 ? prefix : _prefix + "/" + prefix;
            var strip = _prefix.Length == 0 ? 0 : _prefix.Length + 1;
            await foreach (var item in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = keyPrefix }, cancellationToken))
            {
                var relative = item.Name[strip..];
                if (!CheckpointPaths.IsReserved(relative))
                {
                    result.Add(relative);
                }
            }

            result.Sort(StringComparer.Ordinal);
            return result;
        }, cancellationToken);
    }

    public Task DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        CheckpointPaths.ValidatePath(path);
        return Run("delete", path, async () =>
        {
            await Blob(path).DeleteIfExistsAsync(cancellationToken: cancellationToken);
            return true;
        }, cancellationToken);
    }

    public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        CheckpointPaths.ValidatePath(path);
        return Run("exists", path, async () => (await Blob(path).ExistsAsync(cancellationToken)).Value, cancellationToken);
    }

    public void Dispose() => _containerLock.Dispose();

    public override string ToString() => Name;

    internal static BlobContainerClient CreateContainerClient(AzureBlobCheckpointStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate(CheckpointStorageOptions.SectionName + ":" + CheckpointStoreKinds.AzureBlob);
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        var clientOptions = new BlobClientOptions();
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.MaxRetries = options.MaxRetries;
        clientOptions.Retry.Delay = options.RetryDelay;
        clientOptions.Retry.NetworkTimeout = options.Timeout;
        var service = string.IsNullOrWhiteSpace(options.ConnectionString)
            ? new BlobServiceClient(new Uri(options.AccountUri!), new DefaultAzureCredential(), clientOptions)
            : new BlobServiceClient(options.ConnectionString, clientOptions);
        return service.GetBlobContainerClient(options.Container);
    }

    private BlobClient Blob(string path) => _container.GetBlobClient(CheckpointPaths.Join(_prefix, path));

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (_containerReady)
        {
            return;
        }

        await _containerLock.WaitAsync(cancellationToken);
        try
        {
            if (!_containerReady)
            {
                await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
                _containerReady = true;
            }
        }
        finally
        {
            _containerLock.Release();
        }
    }

    private async Task<T> Run<T>(string operation, string path, Func<Task<T>> action, CancellationToken cancellationToken)
    {
        try
        {
            await EnsureContainerAsync(cancellationToken);
            try
            {
                return await action();
            }
            catch (RequestFailedException e) when (e.ErrorCode == "ContainerNotFound")
            {
                // Deleted behind our back: create it again and retry once.
                _containerReady = false;
                await EnsureContainerAsync(cancellationToken);
                return await action();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is not CheckpointStoreException)
        {
            throw CheckpointStoreException.Wrap(Name, operation, path, e);
        }
    }
}
