using System.Text.Json;
using Sluice.Grains;
using Sluice.Sinks;
using Sluice.Tests.Properties;
using Xunit.Abstractions;

namespace Sluice.Tests.Recovery;

/// <summary>Incremental checkpoints: a key group whose state did not change points at its earlier blob.</summary>
public sealed class IncrementalCheckpointTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-incremental-").FullName;

    [Fact]
    public async Task Unchanged_key_groups_reference_earlier_blobs_that_retention_keeps_and_a_restore_reads()
    {
        var input = new OutOfOrderEventFeed(seed: 23, partitions: 2);
        var first = new CollectingSink<WindowResult>("first");
        await using (var cluster = await RecoveryScenario.StartAsync(_root, silos: 1))
        {
            cluster.Register(RecoveryScenario.Define("incremental", input.Source, first, o => o.RetainedCheckpoints = 2));
            var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("incremental");
            await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 2, "2 checkpoints");

            // No more input: state stops changing, so later checkpoints upload nothing and point at earlier blobs.
            var quietFrom = (await coordinator.GetHistoryAsync()).Max(c => c.Id);
            await RecoveryScenario.WaitForAsync(
                async () => RecoveryScenario.Completed((await coordinator.GetHistoryAsync()).Where(c => c.Id > quietFrom + 1).ToList()) >= 4,
                TimeSpan.FromSeconds(30),
                "4 checkpoints without input");
            var quiet = (await coordinator.GetHistoryAsync()).Where(c => c.State == CheckpointState.Completed && c.Id > quietFrom + 1).ToList();
            output.WriteLine($"checkpoints without input: {string.Join(", ", quiet.Select(c => $"{c.Id}: {c.Bytes} bytes uploaded"))}");
            Assert.All(quiet, c => Assert.Equal(0, c.Bytes));
        }

        var newest = Directory.GetDirectories(Path.Combine(_root, "incremental"), "chk-*")
            .Where(d => File.Exists(Path.Combine(d, "_metadata")))
            .Select(d => long.Parse(Path.GetFileName(d)["chk-".Length..], System.Globalization.CultureInfo.InvariantCulture))
            .Max();
        using var metadata = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(_root, "incremental", $"chk-{newest}", "_metadata")));
        var blobs = metadata.RootElement.GetProperty("Tasks").EnumerateArray()
            .Select(t => t.GetProperty("BlobPath").GetString()).OfType<string>().ToList();
        Assert.NotEmpty(blobs);
        foreach (var blob in blobs)
        {
            var folder = blob.Split('/')[1];
            Assert.NotEqual($"chk-{newest}", folder);
            Assert.True(File.Exists(Path.Combine(_root, blob)), $"{blob} is referenced by checkpoint {newest} and must survive retention");
            Assert.False(File.Exists(Path.Combine(_root, "incremental", folder, "_metadata")), $"retention should have deleted checkpoint {folder} itself");
        }

        // A new cluster restores through the references.
        var second = new CollectingSink<WindowResult>("second");
        await using (var cluster = await RecoveryScenario.StartAsync(_root, silos: 1))
        {
            cluster.Register(RecoveryScenario.Define("incremental", input.Source, second));
            input.Append(rounds: 5);
            input.Source.CompleteAll();
            await second.Completion.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(newest, (await cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("incremental").GetRecoveryAsync()).RestoredFrom);
        }

        var emitted = first.Values.Concat(second.Values).ToList();
        RecoveryScenario.AssertRightAndComplete(input.Oracle(), emitted, emitted);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
