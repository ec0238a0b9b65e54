using Amazon.S3.Model;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Sluice.Checkpointing;
using Microsoft.Extensions.DependencyInjection;
using Sluice.Storage;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Sluice.Tests.Storage;
using Xunit.Abstractions;

namespace Sluice.Tests.Checkpointing;

/// <summary>
/// The restore scenario of <see cref="RestoreTests"/> with the checkpoints in a remote blob store: Azure Blob on
/// Azurite and S3 on s3rver, each started by its fixture. Besides the oracle, each test checks that the second cluster
/// really restored: it read the sources only from the positions the checkpoint recorded, and the windows open at the
/// cut (events on both sides of it) came out right, which they cannot without the state from before the cut.
/// </summary>
public sealed class RemoteStoreRestoreTests(AzuriteFixture azurite, S3rverFixture s3rver, ITestOutputHelper output)
    : IClassFixture<AzuriteFixture>, IClassFixture<S3rverFixture>
{
    private const string Container = "restore";
    private const string Bucket = "restore";

    // A folder of its own per test, so a rerun against the same emulator never resumes an earlier run's checkpoints.
    private readonly string _prefix = $"run-{Guid.NewGuid():N}";

    [SkippableFact]
    public async Task A_new_cluster_restores_from_checkpoints_in_Azure_Blob_on_Azurite_and_every_window_equals_the_oracle()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        const string pipelineId = "resumable-azure";
        var run = await WindowSumsRestoreScenario.RunAsync(
            () => SluiceCluster.StartAsync(1, silo => silo.Services.AddSluiceCheckpointStorage(o =>
            {
                o.Kind = CheckpointStoreKinds.AzureBlob;
                o.AzureBlob.ConnectionString = azurite.ConnectionString;
                o.AzureBlob.Container = Container;
                o.AzureBlob.Prefix = _prefix;
            })),
            pipelineId,
            seed: 31,
            output);

        AssertRestoredCorrectly(run);

        // The checkpoints are blobs in the container, not files somewhere else.
        var names = new List<string>();
        await foreach (var blob in new BlobContainerClient(azurite.ConnectionString, Container).GetBlobsAsync(new GetBlobsOptions { Prefix = $"{_prefix}/{pipelineId}/chk-" }))
        {
            names.Add(blob.Name);
        }

        AssertCommittedCheckpointsAreIn(names, pipelineId, run, "Azurite");
    }

    [SkippableFact]
    public async Task A_new_cluster_restores_from_checkpoints_in_S3_on_s3rver_and_every_window_equals_the_oracle()
    {
        Skip.If(s3rver.SkipReason is not null, s3rver.SkipReason);
        const string pipelineId = "resumable-s3";
        // As the S3 store tests configure it: endpoint, path-style addressing, s3rver's fixed credentials. The store
        // itself sends checksums only where required and no aws-chunked bodies, which s3rver would store verbatim.
        var options = new S3CheckpointStoreOptions
        {
            Bucket = Bucket,
            Prefix = _prefix,
            ServiceUrl = s3rver.ServiceUrl,
            ForcePathStyle = true,
            AccessKey = "S3RVER",
            SecretKey = "S3RVER",
            CreateBucket = true,
        };
        var run = await WindowSumsRestoreScenario.RunAsync(
            () => SluiceCluster.StartAsync(1, silo => silo.Services.AddSluiceCheckpointStorage(o =>
            {
                o.Kind = CheckpointStoreKinds.S3;
                o.S3 = options;
            })),
            pipelineId,
            seed: 32,
            output);

        AssertRestoredCorrectly(run);

        using var client = S3CheckpointStore.CreateClient(options);
        var listed = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket, Prefix = $"{_prefix}/{pipelineId}/chk-" });
        AssertCommittedCheckpointsAreIn(listed.S3Objects.Select(o => o.Key).ToList(), pipelineId, run, "s3rver");
    }

    /// <summary>
    /// The emulator holds committed checkpoints of the pipeline under this test's prefix, the newest at least as new as
    /// the one restored (the restored one itself may be gone: the second cluster's own checkpoints retire it).
    /// </summary>
    private void AssertCommittedCheckpointsAreIn(IReadOnlyList<string> names, string pipelineId, RestoreRun run, string emulator)
    {
        var committed = names
            .Where(n => n.EndsWith("/_metadata", StringComparison.Ordinal))
            .Select(n => CheckpointCatalog.TryParseId(n[(_prefix.Length + 1)..], out var id) ? id : -1)
            .ToList();
        output.WriteLine($"{emulator} holds _metadata of checkpoints {string.Join(", ", committed)} of {pipelineId}");
        Assert.NotEmpty(committed);
        Assert.True(committed.Max() >= run.SecondRecovery.RestoredFrom, $"{emulator} holds no checkpoint as new as {run.SecondRecovery.RestoredFrom}");
    }

    private void AssertRestoredCorrectly(RestoreRun run)
    {
        WindowSumsRestoreScenario.AssertEveryWindowEqualsTheOracle(run, output);
        Assert.NotEmpty(run.Second);

        // The second cluster started from a checkpoint at least as new as the last one the first cluster reported.
        Assert.True(
            run.SecondRecovery.RestoredFrom >= run.LastCompletedSeenOnFirst,
            $"restored from checkpoint {run.SecondRecovery.RestoredFrom}, but checkpoint {run.LastCompletedSeenOnFirst} had completed");
        Assert.NotNull(run.Restored);
        var restored = run.Restored!;
        Assert.Equal(OutOfOrderEventFeed.DefaultPartitions, restored.Sources.Count);

        // It read each partition from the recorded position on, not from the start.
        foreach (var position in restored.Sources)
        {
            var partition = run.SecondStatus.Sources.Single(s => s.Partition == position.Partition);
            Assert.True(position.Position > 0, $"checkpoint {restored.CheckpointId} recorded position 0 for partition {position.Partition}");
            Assert.Equal(run.Feed.Partition(position.Partition).Count - position.Position, partition.RecordsRead);
        }

        // Windows open at the cut: the second cluster must emit each of them with the oracle's sum.
        var spanning = WindowSumsRestoreScenario.WindowsSpanningTheCut(run.Feed, restored);
        output.WriteLine($"{spanning.Count} windows span the cut of checkpoint {restored.CheckpointId}");
        Assert.NotEmpty(spanning);
        var expected = WindowSumsRestoreScenario.Oracle(run.Feed.All);
        var fromSecond = run.Second.GroupBy(r => (r.Key, r.Start, r.End)).ToDictionary(g => g.Key, g => g.Select(r => r.Value).ToList());
        foreach (var window in spanning)
        {
            Assert.True(fromSecond.TryGetValue(window, out var values), $"the second cluster did not emit {window}, which spans the cut");
            Assert.All(values, v => Assert.Equal(expected[window], v));
        }
    }
}
