using System.Net;
using System.Runtime.InteropServices;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Sluice.Storage;

/// <summary>
/// Checkpoints as objects in an S3 bucket, optionally under a prefix folder. Puts are single PUT Object requests,
/// sent without aws-chunked encoding and with checksums only where required (AWSSDK.S3 v4 otherwise frames the body
/// in a way some S3-compatible services, s3rver among them, store verbatim).
/// </summary>
/// <remarks>
/// <para><see cref="CommitAsync"/> depends on <see cref="S3CheckpointStoreOptions.CommitMode"/>:</para>
/// <para><b>Conditional</b>: PUT Object with <c>If-None-Match: *</c>. AWS S3 (since August 2024) creates the object
/// only if the key is free and answers 412 Precondition Failed otherwise, and 409 ConditionalRequestConflict while
/// a competing conditional write is in flight (retried here). A PUT becomes visible whole, so readers never see a
/// torn marker, and exactly one commit wins across processes.</para>
/// <para><b>LocalLock</b>, for endpoints that ignore <c>If-None-Match</c> on PUT: under a lock shared by every store
/// instance of this process (striped by endpoint, bucket and key), check that the key is free (HEAD) and PUT the
/// content. Exactly one commit wins among callers in this process, and a <see cref="GetAsync"/> in this process
/// waits for a commit of the same key in flight, so it never reads a marker being written. Two processes committing
/// the same key at the same moment can both succeed (the last PUT wins), and a reader in another process can see a
/// partial object on an endpoint that writes in place. No temporary key and server-side copy is used: against
/// s3rver 3.7.1 it cannot work (s3rver decodes <c>x-amz-copy-source</c> with <c>decodeURI</c>, which leaves the
/// SDK's <c>%2F</c> encoded, and answers NoSuchBucket) and it would add nothing (s3rver copies with a plain file copy).</para>
/// <para><b>Auto</b> (default) probes once, on the first commit, with two conditional PUTs of a temporary key: if
/// the second is refused the endpoint honours conditional writes (Conditional), otherwise LocalLock is used and a
/// warning is logged. s3rver 3.7.1 ignores the header: it ends up in LocalLock.</para>
/// </remarks>
internal sealed class S3CheckpointStore : ICheckpointStore, IDisposable
{
    private const string CommitTokenKey = "x-amz-meta-sluice-commit";
    private const string TempFolder = CheckpointPaths.ReservedPrefix + "tmp";
    private const int ConflictRetries = 10;

    /// <summary>Striped locks for <see cref="S3CommitMode.LocalLock"/>, shared by all instances in this process.</summary>
    private static readonly SemaphoreSlim[] LocalLocks = Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    private readonly IAmazonS3 _client;
    private readonly bool _ownsClient;
    private readonly string _bucket;
    private readonly string _prefix;
    private readonly string _endpoint;
    private readonly bool _createBucket;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _setupLock = new(1, 1);
    private volatile bool _bucketReady;
    private volatile int _resolvedMode; // 0: not probed yet, else (int)S3CommitMode + 1

    public S3CheckpointStore(S3CheckpointStoreOptions options, ILogger<S3CheckpointStore>? logger = null)
        : this(options, CreateClient(options), ownsClient: true, logger)
    {
    }

    /// <summary>Uses a prepared client (tests, or hosts that build their own); it is disposed with the store if owned.</summary>
    public S3CheckpointStore(S3CheckpointStoreOptions options, IAmazonS3 client, bool ownsClient, ILogger<S3CheckpointStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _ownsClient = ownsClient;
        _bucket = options.Bucket ?? throw new ArgumentException("S3 bucket is empty.", nameof(options));
        _prefix = CheckpointPaths.NormalizeStorePrefix(options.Prefix);
        _createBucket = options.CreateBucket;
        _resolvedMode = options.CommitMode == S3CommitMode.Auto ? 0 : (int)options.CommitMode + 1;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _endpoint = string.IsNullOrWhiteSpace(options.ServiceUrl) ? $"AWS {options.Region}" : options.ServiceUrl.TrimEnd('/');
        Name = $"S3 checkpoint store at '{_endpoint}' bucket '{_bucket}'{(_prefix.Length == 0 ? string.Empty : $" prefix '{_prefix}'")}";
    }

    public string Name { get; }

    /// <summary>
    /// The commit mode in use: the configured one, or for <see cref="S3CommitMode.Auto"/> the probe's answer
    /// (null until the first commit has probed).
    /// </summary>
    public S3CommitMode? EffectiveCommitMode => _resolvedMode == 0 ? null : (S3CommitMode)(_resolvedMode - 1);

    public Task PutAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        CheckpointPaths.ValidatePath(path);
        return Run("put", path, async () =>
        {
            await PutObjectAsync(Key(path), data, ifNoneMatch: false, token: null, cancellationToken);
            return true;
        }, cancellationToken);
    }

    public Task<byte[]?> GetAsync(string path, CancellationToken cancellationToken = default)
    {
        CheckpointPaths.ValidatePath(path);
        return Run<byte[]?>("get", path, async () =>
        {
            // Unless the endpoint enforces conditional writes, wait for a commit of this key in flight in this process.
            var gate = EffectiveCommitMode == S3CommitMode.Conditional ? null : LocalLock(Key(path));
            if (gate is not null)
            {
                await gate.WaitAsync(cancellationToken);
            }

            try
            {
                using var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = Key(path) }, cancellationToken);
                var buffer = new MemoryStream(response.ContentLength is > 0 and <= int.MaxValue ? (int)response.ContentLength : 0);
                await response.ResponseStream.CopyToAsync(buffer, cancellationToken);
                return buffer.ToArray();
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
            {
                return null;
            }
            finally
            {
                gate?.Release();
            }
        }, cancellationToken);
    }

    public Task<bool> CommitAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        CheckpointPaths.ValidatePath(path);
        return Run("commit", path, async () =>
        {
            var mode = EffectiveCommitMode ?? await ProbeAsync(cancellationToken);
            return mode == S3CommitMode.Conditional
                ? await CommitConditionalAsync(Key(path), data, cancellationToken)
                : await CommitLocallyLockedAsync(Key(path), data, cancellationToken);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        CheckpointPaths.ValidatePrefix(prefix);
        return Run<IReadOnlyList<string>>("list", prefix, async () =>
        {
            var result = new List<string>();
            var strip = _prefix.Length == 0 ? 0 : _prefix.Length + 1;
            var request = new ListObjectsV2Request { BucketName = _bucket, Prefix = _prefix.Length == 0 ? prefix : _prefix + "/" + prefix };
            while (true)
            {
                var response = await _client.ListObjectsV2Async(request, cancellationToken);
                foreach (var item in response.S3Objects ?? [])
                {
                    var relative = item.Key[strip..];
                    if (!CheckpointPaths.IsReserved(relative))
                    {
                        result.Add(relative);
                    }
                }

                if (response.IsTruncated != true || string.IsNullOrEmpty(response.NextContinuationToken))
                {
                    break;
                }

                request.ContinuationToken = response.NextContinuationToken;
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
            await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = Key(path) }, cancellationToken);
            return true;
        }, cancellationToken);
    }

    public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        CheckpointPaths.ValidatePath(path);
        return Run("exists", path, () => KeyExistsAsync(Key(path), cancellationToken), cancellationToken);
    }

    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }

        _setupLock.Dispose();
    }

    public override string ToString() => Name;

    internal static AmazonS3Client CreateClient(S3CheckpointStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate(CheckpointStorageOptions.SectionName + ":" + CheckpointStoreKinds.S3);
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            MaxErrorRetry = options.MaxRetries,
            Timeout = options.Timeout,
            // AWSSDK.S3 v4 defaults to WHEN_SUPPORTED, which adds trailing checksums in aws-chunked bodies that
            // S3-compatible services (s3rver) do not decode; AWS S3 accepts both.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (string.IsNullOrWhiteSpace(options.ServiceUrl))
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }
        else
        {
            config.ServiceURL = options.ServiceUrl;
            config.AuthenticationRegion = string.IsNullOrWhiteSpace(options.Region) ? "us-east-1" : options.Region;
        }

        if (string.IsNullOrWhiteSpace(options.AccessKey))
        {
            return new AmazonS3Client(config); // the SDK's default credential chain
        }

        AWSCredentials credentials = string.IsNullOrWhiteSpace(options.SessionToken)
            ? new BasicAWSCredentials(options.AccessKey, options.SecretKey)
            : new SessionAWSCredentials(options.AccessKey, options.SecretKey, options.SessionToken);
        return new AmazonS3Client(credentials, config);
    }

    private string Key(string path) => CheckpointPaths.Join(_prefix, path);

    private string TempKey() => CheckpointPaths.Join(_prefix, $"{TempFolder}/{Guid.NewGuid():N}");

    private async Task PutObjectAsync(string key, ReadOnlyMemory<byte> data, bool ifNoneMatch, string? token, CancellationToken cancellationToken)
    {
        var body = MemoryMarshal.TryGetArray(data, out var segment) && segment.Array is not null
            ? new MemoryStream(segment.Array, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(data.ToArray(), writable: false);
        var request = new PutObjectRequest
        {
            BucketName = _bucket,
            Key = key,
            InputStream = body,
            AutoCloseStream = true,
            ContentType = "application/octet-stream",
            // Without this AWSSDK.S3 v4 sends aws-chunked framing, which s3rver stores as part of the object.
            UseChunkEncoding = false,
        };
        if (ifNoneMatch)
        {
            request.IfNoneMatch = "*";
        }

        if (token is not null)
        {
            request.Metadata[CommitTokenKey] = token;
        }

        await _client.PutObjectAsync(request, cancellationToken);
    }

    private async Task<bool> CommitConditionalAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var token = Guid.NewGuid().ToString("N");
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await PutObjectAsync(key, data, ifNoneMatch: true, token, cancellationToken);
                return true;
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.PreconditionFailed)
            {
                // Someone committed first, unless it was our own earlier attempt whose response was lost.
                return await StoredTokenAsync(key, cancellationToken) == token;
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.Conflict && attempt < ConflictRetries)
            {
                // 409 ConditionalRequestConflict: a competing conditional write is in flight; S3 asks for a retry.
                await Task.Delay(TimeSpan.FromMilliseconds(20 * attempt), cancellationToken);
            }
        }
    }

    private async Task<bool> CommitLocallyLockedAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var gate = LocalLock(key);
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (await KeyExistsAsync(key, cancellationToken))
            {
                return false;
            }

            await PutObjectAsync(key, data, ifNoneMatch: false, token: null, cancellationToken);
            return true;
        }
        finally
        {
            gate.Release();
        }
    }

    private SemaphoreSlim LocalLock(string key) =>
        LocalLocks[(int)((uint)StringComparer.Ordinal.GetHashCode($"{_endpoint}|{_bucket}|{key}") % (uint)LocalLocks.Length)];

    /// <summary>Two conditional PUTs of one temporary key: the second must be refused if conditional writes work.</summary>
    private async Task<S3CommitMode> ProbeAsync(CancellationToken cancellationToken)
    {
        await _setupLock.WaitAsync(cancellationToken);
        try
        {
            if (EffectiveCommitMode is { } known)
            {
                return known;
            }

            var probe = TempKey();
            bool honoured;
            try
            {
                await PutObjectAsync(probe, "probe"u8.ToArray(), ifNoneMatch: true, token: null, cancellationToken);
                try
                {
                    await PutObjectAsync(probe, "probe"u8.ToArray(), ifNoneMatch: true, token: null, cancellationToken);
                    honoured = false;
                }
                catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict)
                {
                    honoured = true;
                }
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotImplemented || e.ErrorCode == "NotImplemented")
            {
                honoured = false; // endpoints that reject the header instead of ignoring it
            }
            finally
            {
                await DeleteQuietlyAsync(probe);
            }

            var mode = honoured ? S3CommitMode.Conditional : S3CommitMode.LocalLock;
            if (!honoured)
            {
                _logger.LogWarning(
                    "{Store} ignores If-None-Match on PUT (conditional writes); checkpoint commits are create-once only among "
                    + "callers in this process. Use AWS S3 or an endpoint with conditional writes for multi-process clusters, "
                    + "or set CommitMode to LocalLock to skip this probe.",
                    Name);
            }

            _resolvedMode = (int)mode + 1;
            return mode;
        }
        finally
        {
            _setupLock.Release();
        }
    }

    private async Task<string?> StoredTokenAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var metadata = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = key }, cancellationToken);
            return metadata.Metadata[CommitTokenKey];
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private async Task<bool> KeyExistsAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = key }, cancellationToken);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
        {
            return false;
        }
    }

    private async Task DeleteQuietlyAsync(string key)
    {
        try
        {
            await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = key }, CancellationToken.None);
        }
        catch (Exception e) when (e is AmazonServiceException or HttpRequestException or IOException or OperationCanceledException)
        {
            _logger.LogDebug(e, "{Store}: could not delete temporary object '{Key}'", Name, key);
        }
    }

    private async Task EnsureBucketAsync(CancellationToken cancellationToken)
    {
        if (_bucketReady || !_createBucket)
        {
            return;
        }

        await _setupLock.WaitAsync(cancellationToken);
        try
        {
            if (_bucketReady)
            {
                return;
            }

            try
            {
                await _client.PutBucketAsync(new PutBucketRequest { BucketName = _bucket, UseClientRegion = true }, cancellationToken);
            }
            catch (AmazonS3Exception e) when (e.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
            {
            }

            _bucketReady = true;
        }
        finally
        {
            _setupLock.Release();
        }
    }

    private async Task<T> Run<T>(string operation, string path, Func<Task<T>> action, CancellationToken cancellationToken)
    {
        try
        {
            await EnsureBucketAsync(cancellationToken);
            return await action();
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
