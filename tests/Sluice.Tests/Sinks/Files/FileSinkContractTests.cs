using Sluice.Functions;
using Sluice.Sinks.Files;
using Sluice.Storage;

namespace Sluice.Tests.Sinks.Files;

/// <summary>
/// The exactly-once protocol of the file sink, driven through a task's writer (Write, PrepareAsync at a barrier,
/// CommitAsync when the checkpoint completes) against each store: the local file system, Azure Blob on Azurite and
/// S3 on s3rver (the derived classes in FileSinkStoreRuns.cs). What a reader sees is read through <see cref="FileSinkReader{T}"/>.
/// Each test writes under its own random prefix.
/// </summary>
public abstract class FileSinkContractTests : IDisposable
{
    private static readonly SinkContext Context = new("files", 0, 0, long.MinValue);
    private readonly List<IDisposable> _disposables = [];

    /// <summary>This test's folder in the store.</summary>
    protected string Prefix { get; } = $"t{Guid.NewGuid():N}/out";

    /// <summary>Why this store cannot be tested here (emulator not installed), or null.</summary>
    protected abstract string? SkipReason { get; }

    protected abstract CheckpointStorageOptions Storage();

    public void Dispose()
    {
        foreach (var disposable in _disposables)
        {
            disposable.Dispose();
        }

        GC.SuppressFinalize(this);
    }

    [SkippableFact]
    public async Task Nothing_is_visible_before_commit_and_exactly_the_epoch_after_it()
    {
        SkipIfUnavailable();
        var (sink, reader) = JsonLinesSink();
        var writer = Writer(sink, 0);
        LogLine[] epoch = [new(1, "first"), new(2, "two\nlines and a \"quote\""), new(3, "ünïcødé ✓")];
        foreach (var line in epoch)
        {
            writer.Write(line, Context);
        }

        var transaction = await writer.PrepareAsync(1, CancellationToken.None);

        Assert.NotNull(transaction);
        Assert.Empty(await reader.ListPartsAsync());
        Assert.Empty(await reader.ReadAllAsync());
        Assert.Single(await sink.Store.ListAsync($"{Prefix}/_staging/"));

        await writer.CommitAsync(1, transaction, CancellationToken.None);

        Assert.Equal([$"{Prefix}/part-0000-0000000001.jsonl"], await reader.ListPartsAsync());
        Assert.Equal(epoch, await reader.ReadAllAsync());
        Assert.Empty(await sink.Store.ListAsync($"{Prefix}/_staging/"));
    }

    [SkippableFact]
    public async Task Records_written_after_the_barrier_belong_to_the_next_epoch()
    {
        SkipIfUnavailable();
        var (sink, reader) = JsonLinesSink();
        var writer = Writer(sink, 0);
        writer.Write(new LogLine(1, "a"), Context);
        writer.Write(new LogLine(2, "b"), Context);

        var preparing = writer.PrepareAsync(1, CancellationToken.None);
        writer.Write(new LogLine(3, "c"), Context); // while epoch 1 is being staged
        var first = await preparing;
        var second = await writer.PrepareAsync(2, CancellationToken.None);
        await writer.CommitAsync(1, first!, CancellationToken.None);
        await writer.CommitAsync(2, second!, CancellationToken.None);

        var parts = await reader.ListPartsAsync();
        Assert.Equal([$"{Prefix}/part-0000-0000000001.jsonl", $"{Prefix}/part-0000-0000000002.jsonl"], parts);
        Assert.Equal([new LogLine(1, "a"), new LogLine(2, "b")], await reader.ReadPartAsync(parts[0]));
        Assert.Equal([new LogLine(3, "c")], await reader.ReadPartAsync(parts[1]));
    }

    [SkippableFact]
    public async Task Committing_twice_is_idempotent()
    {
        SkipIfUnavailable();
        var (sink, reader) = JsonLinesSink();
        var writer = Writer(sink, 0);
        writer.Write(new LogLine(1, "once"), Context);
        var transaction = (await writer.PrepareAsync(7, CancellationToken.None))!;

        await writer.CommitAsync(7, transaction, CancellationToken.None);
        await writer.CommitAsync(7, transaction, CancellationToken.None);
        // After a restore, a new writer (another silo, another sink instance) commits the same transaction again.
        var (restored, _) = JsonLinesSink();
        await Writer(restored, 0).CommitAsync(7, transaction, CancellationToken.None);

        Assert.Equal([$"{Prefix}/part-0000-0000000007.jsonl"], await reader.ListPartsAsync());
        Assert.Equal([new LogLine(1, "once")], await reader.ReadAllAsync());
        Assert.Empty(await sink.Store.ListAsync($"{Prefix}/_staging/"));
    }

    [SkippableFact]
    public async Task A_commit_interrupted_after_writing_the_final_part_keeps_it_and_removes_the_staged_part()
    {
        SkipIfUnavailable();
        var (sink, reader) = JsonLinesSink();
        var writer = Writer(sink, 0);
        writer.Write(new LogLine(1, "committed"), Context);
        var transaction = (await writer.PrepareAsync(3, CancellationToken.None))!;
        var staged = Assert.Single(await sink.Store.ListAsync($"{Prefix}/_staging/"));
        // The state a crash between "write final" and "delete staged" leaves behind.
        Assert.True(await sink.Store.CommitAsync($"{Prefix}/part-0000-0000000003.jsonl", (await sink.Store.GetAsync(staged))!));

        await writer.CommitAsync(3, transaction, CancellationToken.None);

        Assert.Equal([new LogLine(1, "committed")], await reader.ReadAllAsync());
        Assert.False(await sink.Store.ExistsAsync(staged));
    }

    [SkippableFact]
    public async Task A_prepared_epoch_that_is_never_committed_never_becomes_visible()
    {
        SkipIfUnavailable();
        var (sink, reader) = JsonLinesSink();
        var writer = Writer(sink, 0);
        writer.Write(new LogLine(1, "abandoned"), Context);
        var abandoned = await writer.PrepareAsync(1, CancellationToken.None); // checkpoint 1 fails; the replay rewrites it
        writer.Write(new LogLine(2, "kept"), Context);
        var kept = await writer.PrepareAsync(2, CancellationToken.None);

        await writer.CommitAsync(2, kept!, CancellationToken.None);

        Assert.NotNull(abandoned);
        Assert.Equal([$"{Prefix}/part-0000-0000000002.jsonl"], await reader.ListPartsAsync());
        Assert.Equal([new LogLine(2, "kept")], await reader.ReadAllAsync());
        // The abandoned epoch stays staged, where no reader looks.
        Assert.Single(await sink.Store.ListAsync($"{Prefix}/_staging/"));
    }

    [SkippableFact]
    public async Task An_empty_epoch_has_no_transaction_and_writes_nothing()
    {
        SkipIfUnavailable();
        var (sink, reader) = JsonLinesSink();
        var writer = Writer(sink, 0);

        var transaction = await writer.PrepareAsync(1, CancellationToken.None);

        Assert.Null(transaction);
        Assert.Empty(await sink.Store.ListAsync(Prefix + "/"));
        Assert.Empty(await reader.ListPartsAsync());
    }

    [SkippableFact]
    public async Task Each_task_commits_its_own_part_per_checkpoint()
    {
        SkipIfUnavailable();
        var (sink, reader) = JsonLinesSink(parallelism: 2);
        var first = Writer(sink, 0);
        var second = Writer(sink, 1);
        first.Write(new LogLine(1, "task 0"), Context);
        second.Write(new LogLine(2, "task 1"), Context);

        var a = await first.PrepareAsync(4, CancellationToken.None);
        var b = await second.PrepareAsync(4, CancellationToken.None);
        await first.CommitAsync(4, a!, CancellationToken.None);
        await second.CommitAsync(4, b!, CancellationToken.None);

        Assert.Equal([$"{Prefix}/part-0000-0000000004.jsonl", $"{Prefix}/part-0001-0000000004.jsonl"], await reader.ListPartsAsync());
        Assert.Equal([new LogLine(1, "task 0"), new LogLine(2, "task 1")], await reader.ReadAllAsync());
    }

    [SkippableFact]
    public async Task Parquet_parts_round_trip_string_long_int_DateTime_and_nulls()
    {
        SkipIfUnavailable();
        var sink = Track(new FileSink<SensorReading>("readings", Options(), FileFormats.Parquet<SensorReading>()));
        var reader = Track(new FileSinkReader<SensorReading>(Options(), FileFormats.Parquet<SensorReading>()));
        var writer = Writer(sink, 0);
        var readings = SensorReading.Make(500, seed: 11);
        foreach (var reading in readings)
        {
            writer.Write(reading, Context);
        }

        var transaction = await writer.PrepareAsync(2, CancellationToken.None);
        Assert.Empty(await reader.ListPartsAsync());
        await writer.CommitAsync(2, transaction!, CancellationToken.None);

        Assert.Equal([$"{Prefix}/part-0000-0000000002.parquet"], await reader.ListPartsAsync());
        Assert.Equal(readings, await reader.ReadAllAsync());
    }

    [SkippableFact]
    public async Task A_commit_whose_staged_and_final_parts_are_both_missing_fails_naming_both_paths()
    {
        SkipIfUnavailable();
        var (sink, _) = JsonLinesSink();
        var writer = Writer(sink, 0);
        writer.Write(new LogLine(1, "lost"), Context);
        var transaction = (await writer.PrepareAsync(5, CancellationToken.None))!;
        var staged = Assert.Single(await sink.Store.ListAsync($"{Prefix}/_staging/"));
        await sink.Store.DeleteAsync(staged);

        var failure = await Assert.ThrowsAsync<FileSinkCommitException>(() => writer.CommitAsync(5, transaction, CancellationToken.None));

        Assert.Contains($"'{staged}'", failure.Message, StringComparison.Ordinal);
        Assert.Contains($"'{Prefix}/part-0000-0000000005.jsonl'", failure.Message, StringComparison.Ordinal);
        Assert.Contains("1 record(s)", failure.Message, StringComparison.Ordinal);
        Assert.Equal(5, failure.CheckpointId);
    }

    [SkippableFact]
    public async Task An_open_JSON_Lines_epoch_moved_to_a_new_writer_is_committed_whole_with_what_that_writer_adds()
    {
        SkipIfUnavailable();
        var (sink, reader) = JsonLinesSink();
        var before = Writer(sink, 0);
        before.Write(new LogLine(1, "before the move"), Context);
        before.Write(new LogLine(2, "also\nbefore"), Context);

        var moved = Assert.IsAssignableFrom<IMovableSink>(before).ExportOpenEpoch();
        Assert.Null(await before.PrepareAsync(6, CancellationToken.None)); // the epoch left with the export
        var after = Writer(sink, 0);
        ((IMovableSink)after).ImportOpenEpoch(moved);
        after.Write(new LogLine(3, "after the move"), Context);
        var transaction = await after.PrepareAsync(7, CancellationToken.None);
        await after.CommitAsync(7, transaction!, CancellationToken.None);

        Assert.Equal([new LogLine(1, "before the move"), new LogLine(2, "also\nbefore"), new LogLine(3, "after the move")], await reader.ReadAllAsync());
    }

    [SkippableFact]
    public async Task An_open_Parquet_epoch_moved_to_a_new_writer_is_committed_whole_and_an_empty_one_moves_as_nothing()
    {
        SkipIfUnavailable();
        var sink = Track(new FileSink<SensorReading>("readings", Options(), FileFormats.Parquet<SensorReading>()));
        var reader = Track(new FileSinkReader<SensorReading>(Options(), FileFormats.Parquet<SensorReading>()));
        var readings = SensorReading.Make(300, seed: 5);
        var before = Writer(sink, 1);
        Assert.Empty(((IMovableSink)before).ExportOpenEpoch());
        foreach (var reading in readings.Take(200))
        {
            before.Write(reading, Context);
        }

        var after = Writer(sink, 1);
        ((IMovableSink)after).ImportOpenEpoch(((IMovableSink)before).ExportOpenEpoch());
        foreach (var reading in readings.Skip(200))
        {
            after.Write(reading, Context);
        }

        var transaction = await after.PrepareAsync(3, CancellationToken.None);
        await after.CommitAsync(3, transaction!, CancellationToken.None);

        Assert.Equal(readings, await reader.ReadAllAsync());
    }

    protected void SkipIfUnavailable() => Skip.If(SkipReason is not null, SkipReason);

    protected FileSinkOptions Options() => new() { Prefix = Prefix, Storage = Storage() };

    private protected (FileSink<LogLine> Sink, FileSinkReader<LogLine> Reader) JsonLinesSink(int parallelism = 1)
    {
        var sink = Track(new FileSink<LogLine>("lines", Options(), FileFormats.JsonLines(FileSinkJson.Default.LogLine), parallelism));
        return (sink, Track(new FileSinkReader<LogLine>(sink)));
    }

    private protected static ITransactionalSink<T> Writer<T>(FileSink<T> sink, int task) =>
        Assert.IsAssignableFrom<ITransactionalSink<T>>(sink.CreateWriter(task));

    private protected TSink Track<TSink>(TSink value)
    {
        if (value is IDisposable disposable)
        {
            _disposables.Add(disposable);
        }

        return value;
    }
}
