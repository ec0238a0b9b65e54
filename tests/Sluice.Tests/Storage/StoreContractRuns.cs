using System.Net;
using Amazon.S3;
using Amazon.S3.Model;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Sluice.Storage;
using Xunit.Abstractions;

namespace Sluice.Tests.Storage;

/// <summary>A temporary folder shared by one test class, deleted at the end.</summary>
public sealed class TempFolderFixture : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("sluice-checkpoints-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The contract on the local file system.</summary>
public sealed class FileSystemCheckpointStoreTests(TempFolderFixture folder, ITestOutputHelper output)
    : CheckpointStoreContractTests(output), IClassFixture<TempFolderFixture>
{
    protected override string? SkipReason => null;

    // Local and cheap: many rounds, since the race File.Move(overwrite: false) loses on Unix showed up about once
    // in twenty rounds before the store used link(2).
    protected override int ConcurrentCommitRounds => 100;

    private protected override ICheckpointStore CreateStore() =>
        new FileSystemCheckpointStore(new FileSystemCheckpointStoreOptions { Root = Path.Combine(folder.Path, "root") });

    [Fact]
    public async Task Objects_are_plain_files_under_the_root_and_no_temporary_file_is_left()
    {
        var store = (FileSystemCheckpointStore)NewStore();
        await store.PutAsync($"{Top}/chk-1/0-0", new byte[] { 1, 2 });
        Assert.True(await store.CommitAsync($"{Top}/chk-1/_metadata", new byte[] { 3 }));
        Assert.False(await store.CommitAsync($"{Top}/chk-1/_metadata", new byte[] { 4 }));

        var folderPath = Path.Combine(store.Root, Top, "chk-1");
        Assert.Equal(["0-0", "_metadata"], Directory.GetFiles(folderPath).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(new byte[] { 1, 2 }, await File.ReadAllBytesAsync(Path.Combine(folderPath, "0-0")));

        // Deleting the last file removes the emptied folders up to the root.
        await store.DeleteAsync($"{Top}/chk-1/0-0");
        await store.DeleteAsync($"{Top}/chk-1/_metadata");
        Assert.False(Directory.Exists(Path.Combine(store.Root, Top)));
        Assert.True(Directory.Exists(store.Root));
    }

    [Fact]
    public async Task A_root_that_is_not_a_folder_fails_writes_with_CheckpointStoreException()
    {
        var root = Path.Combine(folder.Path, $"file-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(root, "not a folder");
        var store = new FileSystemCheckpointStore(new FileSystemCheckpointStoreOptions { Root = root });

        var put = await Assert.ThrowsAsync<CheckpointStoreException>(() => store.PutAsync("p/chk-1/0-0", new byte[] { 1 }));
        var commit = await Assert.ThrowsAsync<CheckpointStoreException>(() => store.CommitAsync("p/chk-1/_metadata", new byte[] { 1 }));

        Assert.Contains(root, put.Message, StringComparison.Ordinal);
        Assert.Contains("'p/chk-1/0-0'", put.Message, StringComparison.Ordinal);
        Assert.Equal("commit", commit.Operation);
        Assert.IsAssignableFrom<IOException>(put.InnerException);
    }
}

/// <summary>The contract on Azure Blob, against Azurite (stopped and restarted by the unreachable-store test).</summary>
public sealed class AzureBlobCheckpointStoreTests(AzuriteFixture azurite, ITestOutputHelper output)
    : RemoteCheckpointStoreContractTests(output), IClassFixture<AzuriteFixture>
{
    private const string Container = "checkpoints";

    protected override string? SkipReason => azurite.SkipReason;

    private protected override ICheckpointStore CreateStore() => new AzureBlobCheckpointStore(new AzureBlobCheckpointStoreOptions
    {
        ConnectionString = azurite.ConnectionString,
        Container = Container,
        Prefix = "env-a",
        MaxRetries = 1,
        RetryDelay = TimeSpan.FromMilliseconds(50),
        Timeout = TimeSpan.FromSeconds(10),
    });

    protected override bool ServiceIsRunning => azurite.Service.IsRunning;

    protected override string ServiceLog => azurite.Service.Log;

    protected override Task BreakAsync() => azurite.Service.StopAsync();

    protected override Task RepairAsync() => azurite.Service.StartAsync();

    [SkippableFact]
    public async Task Azurite_itself_refuses_a_second_If_None_Match_star_upload_with_409()
    {
        SkipIfUnavailable();
        await NewStore().ListAsync(string.Empty); // creates the container
        var name = $"env-a/{Top}/raw";
        var first = new BlobContainerClient(azurite.ConnectionString, Container).GetBlobClient(name);
        var second = new BlobContainerClient(azurite.ConnectionString, Container).GetBlobClient(name);
        var ifNoneMatch = new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } };

        await first.UploadAsync(BinaryData.FromBytes(new byte[] { 1 }), ifNoneMatch);
        var refused = await Assert.ThrowsAsync<RequestFailedException>(() => second.UploadAsync(BinaryData.FromBytes(new byte[] { 2 }), ifNoneMatch));

        Assert.Equal(409, refused.Status);
        Assert.Equal("BlobAlreadyExists", refused.ErrorCode);
        Assert.Equal(new byte[] { 1 }, (await first.DownloadContentAsync()).Value.Content.ToArray());
    }

    [SkippableFact]
    public async Task Paths_are_blob_names_under_the_prefix()
    {
        SkipIfUnavailable();
        await Store.PutAsync($"{Top}/chk-1/0-0", new byte[] { 1 });
        var container = new BlobContainerClient(azurite.ConnectionString, Container);
        var names = new List<string>();
        await foreach (var blob in container.GetBlobsAsync(new GetBlobsOptions { Prefix = $"env-a/{Top}/" }))
        {
            names.Add(blob.Name);
        }

        Assert.Equal([$"env-a/{Top}/chk-1/0-0"], names);
    }
}

/// <summary>The contract on S3, against s3rver (stopped and restarted by the unreachable-store test).</summary>
public sealed class S3CheckpointStoreTests(S3rverFixture s3rver, ITestOutputHelper output)
    : RemoteCheckpointStoreContractTests(output), IClassFixture<S3rverFixture>
{
    private const string Bucket = "checkpoints";

    protected override string? SkipReason => s3rver.SkipReason;

    private protected override ICheckpointStore CreateStore() => new S3CheckpointStore(Options(S3CommitMode.Auto));

    protected override bool ServiceIsRunning => s3rver.Service.IsRunning;

    protected override string ServiceLog => s3rver.Service.Log;

    protected override Task BreakAsync() => s3rver.Service.StopAsync();

    protected override Task RepairAsync() => s3rver.Service.StartAsync();

    [SkippableFact]
    public async Task Auto_commit_mode_finds_that_s3rver_ignores_conditional_writes_and_uses_the_local_lock()
    {
        SkipIfUnavailable();
        var store = (S3CheckpointStore)NewStore();
        Assert.Null(store.EffectiveCommitMode);

        Assert.True(await store.CommitAsync($"{Top}/chk-1/_metadata", new byte[] { 1 }));

        Assert.Equal(S3CommitMode.LocalLock, store.EffectiveCommitMode);
    }

    /// <summary>
    /// Pins what s3rver 3.7.1 does with <c>If-None-Match: *</c> on PUT Object: nothing. The second conditional PUT
    /// succeeds and replaces the object, which is why the S3 store must not trust it there (AWS S3 answers 412).
    /// </summary>
    [SkippableFact]
    public async Task S3rver_ignores_If_None_Match_on_put_so_conditional_mode_would_overwrite()
    {
        SkipIfUnavailable();
        var store = new S3CheckpointStore(Options(S3CommitMode.Conditional));
        using var _ = store;
        var path = $"{Top}/chk-1/_metadata";

        Assert.True(await store.CommitAsync(path, new byte[] { 1 }));
        Assert.True(await store.CommitAsync(path, new byte[] { 2 }));

        Assert.Equal(new byte[] { 2 }, await store.GetAsync(path));
    }

    [SkippableFact]
    public async Task Objects_are_stored_byte_exact_under_the_prefix()
    {
        SkipIfUnavailable();
        var data = RandomBytes(100_000, seed: 5);
        await Store.PutAsync($"{Top}/chk-1/0-0", data);
        using var client = S3CheckpointStore.CreateClient(Options(S3CommitMode.Auto));

        using var response = await client.GetObjectAsync(Bucket, $"env-a/{Top}/chk-1/0-0");
        using var body = new MemoryStream();
        await response.ResponseStream.CopyToAsync(body);

        Assert.Equal(HttpStatusCode.OK, response.HttpStatusCode);
        Assert.Equal(data, body.ToArray()); // no aws-chunked framing stored with the object
        var listed = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket, Prefix = $"env-a/{Top}/" });
        Assert.Equal([$"env-a/{Top}/chk-1/0-0"], listed.S3Objects.Select(o => o.Key));
    }

    private S3CheckpointStoreOptions Options(S3CommitMode mode) => new()
    {
        Bucket = Bucket,
        Prefix = "env-a",
        ServiceUrl = s3rver.ServiceUrl,
        ForcePathStyle = true,
        AccessKey = "S3RVER",
        SecretKey = "S3RVER",
        CreateBucket = true,
        CommitMode = mode,
        MaxRetries = 1,
        Timeout = TimeSpan.FromSeconds(10),
    };
}
