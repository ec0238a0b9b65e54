using Sluice.Functions;
using Sluice.Grains;
using Sluice.Sinks.Files;
using Sluice.Sources;
using Sluice.Storage;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Sluice.Time;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.Sinks.Files;

/// <summary>
/// The file sink in a checkpointed pipeline on a real in-process silo: tumbling-window sums written as JSON Lines
/// part files, read back through <see cref="FileSinkReader{T}"/> and compared with the brute-force oracle.
/// </summary>
public sealed class FileSinkPipelineTests(ITestOutputHelper output) : IDisposable
{
    private const int Partitions = 3;
    private const long WindowSize = 100;
    private static readonly JsonLinesFormat<WindowResult> Format = FileFormats.JsonLines(FileSinkJson.Default.WindowResult);

    private readonly string _root = Directory.CreateTempSubdirectory("sluice-file-sink-").FullName;

    [Fact]
    public async Task Window_sums_committed_while_records_flow_equal_the_oracle_and_none_is_committed_twice()
    {
        var input = new OutOfOrderEventFeed(seed: 17, partitions: Partitions);
        var options = SinkOptions();
        using var reader = new FileSinkReader<WindowResult>(options, Format);
        await using var cluster = await SluiceCluster.StartWithCheckpointsAsync(1, Path.Combine(_root, "checkpoints"));
        cluster.Register(Define("files-running", input.Source, options));
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("files-running");

        // Parts become visible only when their checkpoint completes: keep the input flowing until several have.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        IReadOnlyList<string> parts = [];
        while (DateTime.UtcNow < deadline && (Completed(await coordinator.GetHistoryAsync()) < 4 || parts.Count < 3))
        {
            input.Append(rounds: 2);
            await Task.Delay(100);
            parts = await reader.ListPartsAsync();
        }

        var committed = await reader.ReadAllAsync();
        output.WriteLine($"{Completed(await coordinator.GetHistoryAsync())} checkpoints completed, {parts.Count} parts, {committed.Count} committed results, {input.Count} events");
        output.WriteLine(SluiceCluster.Describe(await cluster.StatusAsync("files-running")));

        Assert.True(parts.Count >= 3, $"at least 3 parts should be committed within 60 s, found {parts.Count}");
        var expected = Oracle(input.All);
        var wrong = committed.Where(r => expected.GetValueOrDefault((r.Key, r.Start, r.End), -1) != r.Value).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} committed results differ from the oracle, e.g. {string.Join(", ", wrong.Take(5))}");
        var duplicates = committed.GroupBy(r => (r.Key, r.Start, r.End)).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(duplicates.Count == 0, $"{duplicates.Count} windows are committed more than once, e.g. {string.Join(", ", duplicates.Take(5))}");
    }

    [Fact]
    public async Task After_the_input_ends_the_next_checkpoint_commits_the_rest_and_the_files_equal_the_oracle_exactly()
    {
        var input = new OutOfOrderEventFeed(seed: 23, partitions: Partitions);
        var options = SinkOptions();
        using var reader = new FileSinkReader<WindowResult>(options, Format);
        await using var cluster = await SluiceCluster.StartWithCheckpointsAsync(1, Path.Combine(_root, "checkpoints"));
        cluster.Register(Define("files-ended", input.Source, options));
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("files-ended");
        for (var i = 0; i < 600 && Completed(await coordinator.GetHistoryAsync()) < 2; i++)
        {
            input.Append(rounds: 2);
            await Task.Delay(100);
        }

        input.Append(rounds: 5);
        input.Source.CompleteAll();
        var expected = Oracle(input.All);
        var committed = await WaitForCommittedAsync(reader, expected.Count);

        output.WriteLine($"{Completed(await coordinator.GetHistoryAsync())} checkpoints completed, {committed.Count} of {expected.Count} results committed");
        output.WriteLine(SluiceCluster.Describe(await cluster.StatusAsync("files-ended")));

        WindowOracle.AssertSameMultiset(
            expected.Select(e => new WindowResult(e.Key.Key, e.Key.Start, e.Key.End, e.Value)).ToList(),
            committed,
            "file sink after end of input");
    }

    /// <summary>
    /// The first cluster stops after some checkpoints with records still unread or in flight; the second resumes from
    /// the last complete checkpoint (committing again any transaction that checkpoint holds) and replays the rest.
    /// Together their committed files hold every window once, with the oracle's value.
    /// </summary>
    [Fact]
    public async Task A_cluster_resuming_from_the_last_checkpoint_commits_every_window_exactly_once()
    {
        var input = new OutOfOrderEventFeed(seed: 29, partitions: Partitions);
        var options = SinkOptions();
        using var reader = new FileSinkReader<WindowResult>(options, Format);
        var checkpoints = Path.Combine(_root, "checkpoints");
        await using (var first = await SluiceCluster.StartWithCheckpointsAsync(1, checkpoints))
        {
            first.Register(Define("files-resumed", input.Source, options));
            var coordinator = first.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("files-resumed");
            for (var i = 0; i < 600 && Completed(await coordinator.GetHistoryAsync()) < 3; i++)
            {
                input.Append(rounds: 2);
                await Task.Delay(100);
            }

            input.Append(rounds: 3); // read by the first cluster, or not, before it stops
            output.WriteLine($"first cluster: {Completed(await coordinator.GetHistoryAsync())} checkpoints, {(await reader.ListPartsAsync()).Count} parts committed");
        }

        var staging = Path.Combine(_root, "files", "sums", "_staging");
        output.WriteLine($"after the first cluster: {(Directory.Exists(staging) ? Directory.GetFiles(staging).Length : 0)} parts staged and not committed");

        await using (var second = await SluiceCluster.StartWithCheckpointsAsync(1, checkpoints))
        {
            second.Register(Define("files-resumed", input.Source, options));
            input.Append(rounds: 5);
            input.Source.CompleteAll();
            var expected = Oracle(input.All);
            var committed = await WaitForCommittedAsync(reader, expected.Count);

            output.WriteLine($"second cluster: {committed.Count} of {expected.Count} results committed in {(await reader.ListPartsAsync()).Count} parts");
            WindowOracle.AssertSameMultiset(
                expected.Select(e => new WindowResult(e.Key.Key, e.Key.Start, e.Key.End, e.Value)).ToList(),
                committed,
                "file sink across a resume");
        }
    }

    /// <summary>
    /// The last complete checkpoint holds an epoch whose output is gone from the store (deleted by hand after the first
    /// cluster stopped): committing it again on resume can never succeed. The pipeline fails with the reason in its
    /// status, instead of showing Running while every later epoch of that sink task waits behind the failed one.
    /// </summary>
    [Fact]
    public async Task An_epoch_that_can_never_be_committed_fails_the_pipeline_with_the_reason_in_its_status()
    {
        var input = new OutOfOrderEventFeed(seed: 31, partitions: Partitions);
        var options = SinkOptions();
        var checkpoints = Path.Combine(_root, "checkpoints");
        await using (var first = await SluiceCluster.StartWithCheckpointsAsync(1, checkpoints))
        {
            first.Register(Define("files-lost", input.Source, options));
            var coordinator = first.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("files-lost");
            for (var i = 0; i < 600 && Completed(await coordinator.GetHistoryAsync()) < 3; i++)
            {
                input.Append(rounds: 2);
                await Task.Delay(100);
            }
        }

        // Every checkpoint holds the epoch sealed at its own barrier: remove that epoch's output, staged or committed.
        var newest = Directory.GetDirectories(Path.Combine(checkpoints, "files-lost"), "chk-*")
            .Where(d => File.Exists(Path.Combine(d, "_metadata")))
            .Max(d => long.Parse(Path.GetFileName(d)["chk-".Length..], System.Globalization.CultureInfo.InvariantCulture));
        var epochFiles = Directory.GetFiles(Path.Combine(_root, "files", "sums"), $"part-*-{newest:D10}*", SearchOption.AllDirectories);
        output.WriteLine($"newest complete checkpoint {newest}: deleting {string.Join(", ", epochFiles.Select(Path.GetFileName))}");
        Assert.NotEmpty(epochFiles);
        foreach (var file in epochFiles)
        {
            File.Delete(file);
        }

        await using var second = await SluiceCluster.StartWithCheckpointsAsync(1, checkpoints);
        second.Register(Define("files-lost", input.Source, options));
        input.Append(rounds: 2);
        var failed = await second.WaitForStatusAsync("files-lost", s => s.State == PipelineState.Failed, TimeSpan.FromSeconds(30), "the pipeline failing");
        output.WriteLine(SluiceCluster.Describe(failed));
        Assert.Contains($"cannot commit checkpoint {newest}", failed.Recovery?.FailureReason ?? string.Empty, StringComparison.Ordinal);
        Assert.Contains($"cannot commit checkpoint {newest}", failed.LastError ?? string.Empty, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Reads the committed output until it holds <paramref name="count"/> results (the last epoch commits with the next checkpoint) or 30 s pass.</summary>
    private static async Task<List<WindowResult>> WaitForCommittedAsync(FileSinkReader<WindowResult> reader, int count)
    {
        var committed = await reader.ReadAllAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (committed.Count < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            committed = await reader.ReadAllAsync();
        }

        return committed;
    }

    private static int Completed(IReadOnlyList<CheckpointInfo> history) => history.Count(c => c.State == CheckpointState.Completed);

    private static Dictionary<(string Key, long Start, long End), long> Oracle(IEnumerable<Event> events) =>
        WindowOracle.Tumbling(events, WindowSize, 0, AggregateKind.Sum).ToDictionary(r => (r.Key, r.Start, r.End), r => r.Value);

    private FileSinkOptions SinkOptions() => new()
    {
        Prefix = "sums",
        Storage = new CheckpointStorageOptions { FileSystem = new FileSystemCheckpointStoreOptions { Root = Path.Combine(_root, "files") } },
    };

    private static Pipeline Define(string id, InMemorySource<Event> source, FileSinkOptions options)
    {
        var pipeline = Pipeline.Create(id, o =>
        {
            o.MaxParallelism = 8;
            o.CheckpointInterval = TimeSpan.FromMilliseconds(300);
        });
        pipeline.From(source)
            .WithTimestamps(e => e.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(40)))
            .KeyBy(e => e.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(WindowSize)))
            .Aggregate(Aggregates.Sum<Event>(e => e.Value), (key, window, sum) => new WindowResult(key, window.Start, window.End, sum), "sums")
            .ToFiles("sums", Format, options, parallelism: 2);
        return pipeline;
    }
}
