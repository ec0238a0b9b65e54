using System.Diagnostics.Metrics;
using System.Text.Json;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Sluice.Checkpointing;
using Sluice.Grains;
using Sluice.Sinks;
using Sluice.State.Snapshots;
using Sluice.Storage;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Sluice.Tests.Storage;
using Xunit.Abstractions;

namespace Sluice.Tests.Checkpointing;

/// <summary>
/// A running pipeline checkpointing to Azure Blob (Azurite) loses its store: Azurite is stopped mid-run and started
/// again on the same port and folder. Checkpoints must fail (counted, with a reason naming the store) while records
/// keep flowing, the first checkpoint after the outage must complete, no <c>_metadata</c> may be torn, and the results
/// must still equal the oracle.
/// </summary>
public sealed class StoreOutageTests(AzuriteFixture azurite, ITestOutputHelper output) : IClassFixture<AzuriteFixture>
{
    private const string PipelineId = "outage";
    private const string Container = "outage";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly string _prefix = $"run-{Guid.NewGuid():N}";
    private readonly OutOfOrderEventFeed _feed = new(seed: 41);

    [SkippableFact]
    public async Task Checkpoints_fail_while_the_blob_store_is_down_records_keep_flowing_and_the_next_checkpoint_after_it_completes()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        using var failedCounter = new CheckpointFailureCounter();
        var sink = new CollectingSink<WindowResult>("out");
        HashSet<long> failedIds;
        long lastFailed;
        await using (var cluster = await SluiceCluster.StartAsync(1, silo => silo.Services.AddSluiceCheckpointStorage(o =>
        {
            o.Kind = CheckpointStoreKinds.AzureBlob;
            o.AzureBlob.ConnectionString = azurite.ConnectionString;
            o.AzureBlob.Container = Container;
            o.AzureBlob.Prefix = _prefix;
            // Fail fast while the store is down, as the store's own outage test does; the default backoff only slows it.
            o.AzureBlob.MaxRetries = 1;
            o.AzureBlob.RetryDelay = TimeSpan.FromMilliseconds(100);
            o.AzureBlob.Timeout = TimeSpan.FromSeconds(10);
        })))
        {
            cluster.Register(WindowSumsRestoreScenario.Define(PipelineId, _feed.Source, sink, TimeSpan.FromMilliseconds(300)));
            var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>(PipelineId);
            var storeName = cluster.Cluster.Silos.OfType<InProcessSiloHandle>().First().SiloHost.Services.GetRequiredService<ICheckpointStore>().Name;

            // Before: checkpoints complete.
            await FeedUntilAsync(async () => (await coordinator.GetHistoryAsync()).Count(c => c.State == CheckpointState.Completed) >= 2, "two checkpoints completing");

            // Outage. Every checkpoint that starts from now on finds the store unreachable.
            await azurite.Service.StopAsync();
            var lastStartedBeforeOutage = (await coordinator.GetHistoryAsync()).Max(c => c.Id);
            var atStop = await cluster.StatusAsync(PipelineId);
            output.WriteLine($"Azurite stopped after checkpoint {lastStartedBeforeOutage} had started; {SluiceCluster.Describe(atStop)}");
            await FeedUntilAsync(
                async () => StartedAfter(await coordinator.GetHistoryAsync(), lastStartedBeforeOutage).Count(c => c.State == CheckpointState.Failed) >= 3,
                "three checkpoints failing");

            // Records keep being read and windows keep firing while the store is down.
            var appendedDuringOutage = _feed.Count;
            var during = await cluster.WaitForStatusAsync(
                PipelineId, s => s.RecordsIn >= appendedDuringOutage && s.RecordsOut > atStop.RecordsOut, Patience, "reading every record appended during the outage");
            Assert.False(azurite.Service.IsRunning, "Azurite should still be down");
            var outageHistory = StartedAfter(await coordinator.GetHistoryAsync(), lastStartedBeforeOutage).ToList();
            Assert.True(
                outageHistory.All(c => c.State != CheckpointState.Completed),
                $"no checkpoint can complete while the store is down: {string.Join(", ", outageHistory.Where(c => c.State == CheckpointState.Completed).Select(c => c.Id))}");
            output.WriteLine($"during the outage: in {atStop.RecordsIn} -> {during.RecordsIn}, out {atStop.RecordsOut} -> {during.RecordsOut}");

            // The store comes back on the same port and folder: the next checkpoint completes.
            await azurite.Service.StartAsync();
            lastFailed = (await coordinator.GetHistoryAsync()).Where(c => c.State == CheckpointState.Failed).Max(c => c.Id);
            await FeedUntilAsync(async () => (await coordinator.GetHistoryAsync()).Any(c => c.Id > lastFailed && c.State == CheckpointState.Completed), "a checkpoint completing after the outage");

            var history = await coordinator.GetHistoryAsync();
            foreach (var c in history)
            {
                output.WriteLine($"checkpoint {c.Id}: {c.State} in {c.DurationMilliseconds} ms, {c.Bytes} bytes {c.Failure}");
            }

            var failed = history.Where(c => c.State == CheckpointState.Failed).ToList();
            Assert.All(failed, c => Assert.Contains(storeName, c.Failure ?? string.Empty, StringComparison.Ordinal));
            // The meter is process-wide and other test classes run alongside, so it counts at least this pipeline's failures.
            Assert.True(failedCounter.Count >= failed.Count, $"sluice.checkpoints.failed counted {failedCounter.Count}, the history shows {failed.Count} failures");

            // The end: every window once and equal to the oracle; no restart replayed anything.
            _feed.Source.CompleteAll();
            await sink.Completion.WaitAsync(Patience);
            WindowOracle.AssertSameMultiset(
                WindowOracle.Tumbling(_feed.All, WindowSumsRestoreScenario.WindowSize, 0, AggregateKind.Sum),
                sink.Values.ToList(),
                "after a store outage");
            var recovery = await coordinator.GetRecoveryAsync();
            Assert.Equal(0, recovery.Restarts);
            failedIds = failed.Select(c => c.Id).ToHashSet();
        }

        // With the cluster stopped nothing retires checkpoints any more, so the container holds what it will hold.
        var committed = await AssertEveryMetadataIsCompleteAsync(failedIds);
        Assert.Contains(committed, id => id > lastFailed);
    }

    /// <summary>Appends a round of events every 100 ms until <paramref name="done"/> holds.</summary>
    private async Task FeedUntilAsync(Func<Task<bool>> done, string what)
    {
        using var patience = new CancellationTokenSource(Patience);
        while (!await done())
        {
            if (patience.IsCancellationRequested)
            {
                throw new TimeoutException($"{what} did not happen within {Patience}");
            }

            _feed.Append(1);
            await Task.Delay(100);
        }
    }

    private static IEnumerable<CheckpointInfo> StartedAfter(IEnumerable<CheckpointInfo> history, long id) => history.Where(c => c.Id > id);

    /// <summary>
    /// Reads every <c>_metadata</c> under this run's prefix straight from the container: each must parse, name its own
    /// checkpoint, and every state blob it names must be there with the recorded size and a valid checksum.
    /// </summary>
    private async Task<List<long>> AssertEveryMetadataIsCompleteAsync(HashSet<long> failedIds)
    {
        var container = new BlobContainerClient(azurite.ConnectionString, Container);
        var ids = new List<long>();
        await foreach (var item in container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = $"{_prefix}/{PipelineId}/chk-" }))
        {
            if (!item.Name.EndsWith("/_metadata", StringComparison.Ordinal))
            {
                continue;
            }

            var relative = item.Name[(_prefix.Length + 1)..];
            Assert.True(CheckpointCatalog.TryParseId(relative, out var id), item.Name);
            var bytes = (await container.GetBlobClient(item.Name).DownloadContentAsync()).Value.Content.ToArray();
            var metadata = JsonSerializer.Deserialize(bytes, CheckpointJson.Default.CheckpointMetadata);
            Assert.NotNull(metadata);
            Assert.Equal(id, metadata!.CheckpointId);
            Assert.Equal(PipelineId, metadata.Pipeline);
            Assert.Equal(OutOfOrderEventFeed.DefaultPartitions, metadata.Sources.Count);
            Assert.Equal(8 + 1, metadata.Tasks.Count); // 8 key groups and the sink task
            foreach (var task in metadata.Tasks.Where(t => t.BlobPath is not null))
            {
                var blob = container.GetBlobClient($"{_prefix}/{task.BlobPath}");
                Assert.True((await blob.ExistsAsync()).Value, $"checkpoint {id} names {task.BlobPath}, which is missing");
                var content = (await blob.DownloadContentAsync()).Value.Content.ToArray();
                Assert.Equal(task.Bytes, content.Length);
                SnapshotEnvelope.Unwrap(content, $"window:sums|key:{typeof(string).FullName}|acc:{typeof(long).FullName}|layout:2", task.BlobPath!);
            }

            // A commit whose response was lost can have reached the store although the checkpoint counted as failed;
            // the marker is then still complete (checked above), so this is only reported.
            output.WriteLine($"_metadata of checkpoint {id}: complete, {metadata.Tasks.Count} tasks{(failedIds.Contains(id) ? " (the coordinator counted it as failed)" : string.Empty)}");
            ids.Add(id);
        }

        Assert.NotEmpty(ids);
        return ids;
    }

    /// <summary>Sums the "Sluice" meter's sluice.checkpoints.failed counter from creation on.</summary>
    private sealed class CheckpointFailureCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _count;

        public CheckpointFailureCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Sluice" && instrument.Name == "sluice.checkpoints.failed")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _count, value));
            _listener.Start();
        }

        public long Count => Interlocked.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }
}
