using Sluice.Sinks.Files;
using Sluice.Storage;
using Sluice.Tests.Storage;

namespace Sluice.Tests.Sinks.Files;

/// <summary>The file sink on the local file system.</summary>
public sealed class FileSystemFileSinkTests(TempFolderFixture folder) : FileSinkContractTests, IClassFixture<TempFolderFixture>
{
    protected override string? SkipReason => null;

    protected override CheckpointStorageOptions Storage() => new()
    {
        Kind = CheckpointStoreKinds.FileSystem,
        FileSystem = new FileSystemCheckpointStoreOptions { Root = folder.Path },
    };

    [Fact]
    public async Task A_committed_part_is_a_plain_file_and_no_temporary_or_staged_file_is_left()
    {
        var sink = new FileSink<LogLine>("lines", Options(), FileFormats.JsonLines(FileSinkJson.Default.LogLine));
        var writer = Writer(sink, 0);
        writer.Write(new LogLine(1, "on disk"), default);
        var transaction = await writer.PrepareAsync(1, CancellationToken.None);
        await writer.CommitAsync(1, transaction!, CancellationToken.None);

        var root = Path.Combine(folder.Path, Prefix.Replace('/', Path.DirectorySeparatorChar));
        var files = Directory.GetFiles(root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)).ToList();
        Assert.Equal(["part-0000-0000000001.jsonl"], files);
        Assert.False(Directory.Exists(Path.Combine(root, "_staging")), "the emptied staging folder is removed");
        Assert.Equal("{\"Id\":1,\"Text\":\"on disk\"}\n", await File.ReadAllTextAsync(Path.Combine(root, files[0])));
    }
}

/// <summary>The file sink on Azure Blob, against Azurite.</summary>
public sealed class AzureBlobFileSinkTests(AzuriteFixture azurite) : FileSinkContractTests, IClassFixture<AzuriteFixture>
{
    protected override string? SkipReason => azurite.SkipReason;

    protected override CheckpointStorageOptions Storage() => new()
    {
        Kind = CheckpointStoreKinds.AzureBlob,
        AzureBlob = new AzureBlobCheckpointStoreOptions
        {
            ConnectionString = azurite.ConnectionString,
            Container = "files",
            Prefix = "lake",
            MaxRetries = 1,
            RetryDelay = TimeSpan.FromMilliseconds(50),
            Timeout = TimeSpan.FromSeconds(10),
        },
    };
}

/// <summary>The file sink on S3, against s3rver.</summary>
public sealed class S3FileSinkTests(S3rverFixture s3rver) : FileSinkContractTests, IClassFixture<S3rverFixture>
{
    protected override string? SkipReason => s3rver.SkipReason;

    protected override CheckpointStorageOptions Storage() => new()
    {
        Kind = CheckpointStoreKinds.S3,
        S3 = new S3CheckpointStoreOptions
        {
            Bucket = "files",
            Prefix = "lake",
            ServiceUrl = s3rver.ServiceUrl,
            ForcePathStyle = true,
            AccessKey = "S3RVER",
            SecretKey = "S3RVER",
            CreateBucket = true,
            MaxRetries = 1,
            Timeout = TimeSpan.FromSeconds(10),
        },
    };
}
