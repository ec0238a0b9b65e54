using System.Text;
using Parquet;
using Sluice.Functions;
using Sluice.Sinks.Files;
using Sluice.Storage;
using Sluice.Tests.Storage;
using Xunit.Abstractions;

namespace Sluice.Tests.Sinks.Files;

/// <summary>What each format writes into a part file, and what happens to records that cannot be written.</summary>
public sealed class FileFormatTests(TempFolderFixture folder, ITestOutputHelper output) : IClassFixture<TempFolderFixture>
{
    private static readonly SinkContext Context = new("files", 0, 0, long.MinValue);

    private readonly string _prefix = $"t{Guid.NewGuid():N}";

    [Theory]
    [InlineData(10)] // the failing record's bytes are still inside the JSON writer
    [InlineData(200_000)] // more than the buffer has free: the JSON writer hands over the start of the record before failing
    public async Task A_record_that_fails_to_serialize_throws_from_Write_and_the_epoch_keeps_the_others(int paddingLength)
    {
        var sink = new FileSink<FlakyLine>("flaky", Options(), FileFormats.JsonLines(FileSinkJson.Default.FlakyLine));
        var writer = (FileSinkWriter<FlakyLine>)sink.CreateWriter(0);

        writer.Write(new FlakyLine { Id = 1, Padding = "first" }, Context);
        var failure = Assert.Throws<InvalidOperationException>(() => writer.Write(new FlakyLine { Id = 2, Padding = new string('x', paddingLength), Fail = true }, Context));
        writer.Write(new FlakyLine { Id = 3, Padding = "third" }, Context);
        Assert.Equal(2, writer.PendingRecords);
        await CommitAsync(writer, 1);

        Assert.Contains("record 2", failure.Message, StringComparison.Ordinal);
        var bytes = await sink.Store.GetAsync($"{_prefix}/part-0000-0000000001.jsonl");
        var lines = Encoding.UTF8.GetString(bytes!).Split('\n');
        Assert.Equal(3, lines.Length); // two records, each ending with '\n'
        Assert.Equal("", lines[2]);
        Assert.Equal([1, 3], (await new FileSinkReader<FlakyLine>(sink).ReadAllAsync()).Select(l => l.Id));
    }

    [Fact]
    public async Task JSON_Lines_writes_one_compact_line_per_record_even_with_indented_type_info()
    {
        var sink = new FileSink<LogLine>("indented", Options(), FileFormats.JsonLines(IndentedFileSinkJson.Default.LogLine));
        var writer = sink.CreateWriter(0);
        writer.Write(new LogLine(1, "a\nb"), Context);
        writer.Write(new LogLine(2, "c"), Context);
        await CommitAsync((ITransactionalSink<LogLine>)writer, 1);

        var text = Encoding.UTF8.GetString((await sink.Store.GetAsync($"{_prefix}/part-0000-0000000001.jsonl"))!);

        Assert.Equal("{\"Id\":1,\"Text\":\"a\\nb\"}\n{\"Id\":2,\"Text\":\"c\"}\n", text);
    }

    [Fact]
    public async Task JSON_Lines_Write_allocates_nothing_per_record()
    {
        const int Records = 20_000;
        var sink = new FileSink<LogLine>("lines", Options(), FileFormats.JsonLines(FileSinkJson.Default.LogLine));
        var writer = (ITransactionalSink<LogLine>)sink.CreateWriter(0);
        var lines = Enumerable.Range(0, Records).Select(i => new LogLine(i, "payload")).ToArray();
        foreach (var line in lines)
        {
            writer.Write(line, Context); // warm-up epoch: JIT, and the size the next epoch's buffer starts with
        }

        await CommitAsync(writer, 1);

        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var line in lines)
        {
            writer.Write(line, Context);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // At most the epoch buffer itself (rented once, possibly fresh from the pool), nothing per record.
        var epochBytes = (await sink.Store.GetAsync($"{_prefix}/part-0000-0000000001.jsonl"))!.Length;
        var bound = (long)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)epochBytes) + 4096;
        output.WriteLine($"{allocated} bytes allocated for {Records} records of a {epochBytes}-byte epoch");
        Assert.True(allocated <= bound, $"{allocated} bytes allocated writing {Records} records ({(double)allocated / Records:F1} per record); the buffer is {epochBytes} bytes");
    }

    [Fact]
    public async Task A_Parquet_part_holds_its_epoch_as_one_row_group()
    {
        var sink = new FileSink<SensorReading>("readings", Options(), FileFormats.Parquet<SensorReading>());
        var writer = (ITransactionalSink<SensorReading>)sink.CreateWriter(0);
        var readings = SensorReading.Make(20_000, seed: 3);
        foreach (var reading in readings)
        {
            writer.Write(reading, Context);
        }

        await CommitAsync(writer, 1);

        var bytes = (await sink.Store.GetAsync($"{_prefix}/part-0000-0000000001.parquet"))!;
        await using var reader = await ParquetReader.CreateAsync(new MemoryStream(bytes));
        Assert.Equal(1, reader.RowGroupCount);
        Assert.Equal(readings.Count, reader.OpenRowGroupReader(0).RowCount);
    }

    [Fact]
    public async Task A_null_Parquet_record_throws_from_Write_and_the_epoch_keeps_the_others()
    {
        var sink = new FileSink<SensorReading>("readings", Options(), FileFormats.Parquet<SensorReading>());
        var writer = (ITransactionalSink<SensorReading>)sink.CreateWriter(0);
        var readings = SensorReading.Make(2, seed: 4);

        writer.Write(readings[0], Context);
        Assert.Throws<ArgumentNullException>(() => writer.Write(null!, Context));
        writer.Write(readings[1], Context);
        await CommitAsync(writer, 1);

        Assert.Equal(readings, await new FileSinkReader<SensorReading>(sink).ReadAllAsync());
    }

    [Fact]
    public void A_type_Parquet_cannot_map_is_refused_when_the_format_is_created()
    {
        var failure = Assert.Throws<NotSupportedException>(FileFormats.Parquet<NotParquet>);

        Assert.Contains(typeof(NotParquet).FullName!, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_reader_rejects_a_truncated_JSON_Lines_part()
    {
        var format = FileFormats.JsonLines(FileSinkJson.Default.LogLine);

        var failure = await Assert.ThrowsAsync<FormatException>(async () => await format.DecodeAsync("{\"Id\":1,\"Text\":\"a\"}\n{\"Id\":2"u8.ToArray(), CancellationToken.None));

        Assert.Contains("Line 2", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_transaction_handle_round_trips_and_a_damaged_one_is_refused()
    {
        var transaction = new FilePartTransaction("p/_staging/part-0000-0000000001-ab.jsonl", "p/part-0000-0000000001.jsonl", 42);

        var bytes = transaction.ToBytes();

        Assert.Equal(transaction, FilePartTransaction.FromBytes(bytes));
        Assert.Throws<FormatException>(() => FilePartTransaction.FromBytes(bytes.AsSpan(0, bytes.Length - 1)));
        Assert.Throws<FormatException>(() => FilePartTransaction.FromBytes([2, .. bytes.AsSpan(1)]));
        Assert.Throws<FormatException>(() => FilePartTransaction.FromBytes([]));
    }

    private FileSinkOptions Options() => new()
    {
        Prefix = _prefix,
        Storage = new CheckpointStorageOptions { FileSystem = new FileSystemCheckpointStoreOptions { Root = folder.Path } },
    };

    private static async Task CommitAsync<T>(ITransactionalSink<T> writer, long checkpointId)
    {
        var transaction = await writer.PrepareAsync(checkpointId, CancellationToken.None);
        Assert.NotNull(transaction);
        await writer.CommitAsync(checkpointId, transaction, CancellationToken.None);
    }
}
