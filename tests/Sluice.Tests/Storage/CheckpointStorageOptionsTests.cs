using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sluice.Storage;

namespace Sluice.Tests.Storage;

/// <summary>Choosing and configuring the store: defaults, validation messages naming the setting, DI registration.</summary>
public sealed class CheckpointStorageOptionsTests
{
    [Fact]
    public void The_default_is_the_file_system_under_data_checkpoints()
    {
        var store = CheckpointStoreFactory.Create(new CheckpointStorageOptions());

        var fileSystem = Assert.IsType<FileSystemCheckpointStore>(store);
        Assert.Equal(Path.GetFullPath("./data/checkpoints"), fileSystem.Root);
    }

    [Theory]
    [InlineData("S3", "Checkpoints:S3:Bucket is empty")]
    [InlineData("s3", "Checkpoints:S3:Bucket is empty")]
    [InlineData("AzureBlob", "Checkpoints:AzureBlob:ConnectionString and Checkpoints:AzureBlob:AccountUri are both empty")]
    [InlineData("Ftp", "Checkpoints:Kind 'Ftp' is not a checkpoint store kind; use one of FileSystem, AzureBlob, S3")]
    public void Invalid_settings_fail_with_a_message_naming_the_setting(string kind, string message)
    {
        var failure = Assert.Throws<OptionsValidationException>(() => CheckpointStoreFactory.Create(new CheckpointStorageOptions { Kind = kind }));

        Assert.Contains(message, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_bad_setting_of_a_store_is_reported()
    {
        var options = new CheckpointStorageOptions
        {
            Kind = "S3",
            S3 = new S3CheckpointStoreOptions { Bucket = "Bad_Bucket", AccessKey = "key", ServiceUrl = "not a url", Prefix = "a//b", MaxRetries = -1 },
        };

        var errors = options.Validate();

        Assert.Contains(errors, e => e.StartsWith("Checkpoints:S3:Bucket 'Bad_Bucket' is not a valid bucket name", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Checkpoints:S3:SecretKey is empty but Checkpoints:S3:AccessKey is set", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Checkpoints:S3:ServiceUrl 'not a url' is not an absolute http(s) URL", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Checkpoints:S3:Prefix 'a//b' is not a valid folder path", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Checkpoints:S3:MaxRetries is negative", StringComparison.Ordinal));
        Assert.Equal(5, errors.Count);

        var azure = new CheckpointStorageOptions
        {
            Kind = "AzureBlob",
            AzureBlob = new AzureBlobCheckpointStoreOptions { ConnectionString = "nonsense", Container = "Upper" },
        }.Validate();
        Assert.Contains(azure, e => e.StartsWith("Checkpoints:AzureBlob:ConnectionString is not a valid storage connection string", StringComparison.Ordinal));
        Assert.Contains(azure, e => e.StartsWith("Checkpoints:AzureBlob:Container 'Upper' is not a valid container name", StringComparison.Ordinal));

        Assert.Equal(
            ["Checkpoints:FileSystem:Root is empty; set the folder for checkpoints (default ./data/checkpoints)."],
            new CheckpointStorageOptions { FileSystem = new() { Root = " " } }.Validate());
    }

    [Fact]
    public void Azure_with_an_account_url_uses_DefaultAzureCredential_without_contacting_anything_until_used()
    {
        var store = CheckpointStoreFactory.Create(new CheckpointStorageOptions
        {
            Kind = "AzureBlob",
            AzureBlob = new AzureBlobCheckpointStoreOptions { AccountUri = "https://example.blob.core.windows.net", Container = "chk", Prefix = "/prod/" },
        });

        var azure = Assert.IsType<AzureBlobCheckpointStore>(store);
        Assert.Equal("Azure Blob checkpoint store at 'https://example.blob.core.windows.net/chk/prod'", azure.Name);
        azure.Dispose();
    }

    [Fact]
    public void The_store_is_registered_from_configuration_and_bad_configuration_names_the_section()
    {
        var services = new ServiceCollection();
        services.AddSluiceCheckpointStorage(Configuration(new()
        {
            ["Checkpoints:Kind"] = "S3",
            ["Checkpoints:S3:Bucket"] = "chk",
            ["Checkpoints:S3:ServiceUrl"] = "http://127.0.0.1:1",
            ["Checkpoints:S3:ForcePathStyle"] = "true",
            ["Checkpoints:S3:AccessKey"] = "a",
            ["Checkpoints:S3:SecretKey"] = "b",
            ["Checkpoints:S3:CommitMode"] = "LocalLock",
        }).GetSection("Checkpoints"));
        using (var provider = services.BuildServiceProvider())
        {
            var store = Assert.IsType<S3CheckpointStore>(provider.GetRequiredService<ICheckpointStore>());
            Assert.Equal("S3 checkpoint store at 'http://127.0.0.1:1' bucket 'chk'", store.Name);
            Assert.Equal(S3CommitMode.LocalLock, store.EffectiveCommitMode);
        }

        var bad = new ServiceCollection();
        bad.AddSluiceCheckpointStorage(Configuration(new() { ["Storage:Checkpoints:Kind"] = "S3" }).GetSection("Storage:Checkpoints"));
        using var badProvider = bad.BuildServiceProvider();
        var failure = Assert.Throws<OptionsValidationException>(() => badProvider.GetRequiredService<ICheckpointStore>());
        Assert.Contains("Storage:Checkpoints:S3:Bucket is empty", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_store_is_registered_from_code_with_the_file_system_default()
    {
        var services = new ServiceCollection();
        var root = Path.Combine(Path.GetTempPath(), $"sluice-{Guid.NewGuid():N}");
        services.AddSluiceCheckpointStorage(o => o.FileSystem.Root = root);
        using var provider = services.BuildServiceProvider();

        var store = Assert.IsType<FileSystemCheckpointStore>(provider.GetRequiredService<ICheckpointStore>());
        Assert.Equal(root, store.Root);
    }

    private static IConfiguration Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
