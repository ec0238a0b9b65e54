using Confluent.Kafka;
using Sluice.Sources;
using Sluice.Kafka;
using Sluice.Kafka.Embedded;
using Sluice.Tests.Properties;

namespace Sluice.Tests.Kafka;

public sealed class KafkaSeekTests
{
    [Fact]
    public async Task A_reader_seeks_to_a_recorded_offset_before_and_after_it_started()
    {
        using var kafka = EmbeddedKafka.Start(brokers: 1);
        kafka.CreateTopic("seek", 1);
        using (var producer = KafkaTestData.Producer(kafka))
        {
            for (var i = 0; i < 100; i++)
            {
                producer.Produce(new TopicPartition("seek", 0), new Message<byte[]?, byte[]?> { Value = KafkaTestData.Json(new Event("k", i, i)) });
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        var source = new KafkaSource<Event>("seek", new KafkaSourceOptions { Topic = "seek", BootstrapServers = kafka.BootstrapServers }, KafkaFormats.Json(KafkaTestJson.Default.Event));
        var reader = source.OpenReader(0);
        var seekable = Assert.IsAssignableFrom<ISeekableSourceReader>(reader);
        seekable.Seek(40);
        var output = new Collect();
        await ReadUntilAsync(reader, output, 60);
        Assert.Equal(Enumerable.Range(40, 60).Select(i => (long)i), output.Values.Select(e => e.Value));
        Assert.Equal(100, seekable.Position);

        seekable.Seek(90);
        output.Values.Clear();
        await ReadUntilAsync(reader, output, 10);
        Assert.Equal(Enumerable.Range(90, 10).Select(i => (long)i), output.Values.Select(e => e.Value));
        (reader as IDisposable)?.Dispose();
    }

    [Fact]
    public void Generator_and_in_memory_readers_report_and_restore_their_position()
    {
        var generator = new GeneratorSource<long>("gen", new GeneratorSourceOptions { Partitions = 1, RecordsPerSecond = 0, RecordsPerPartition = 50 }, e => e.Index);
        var reader = generator.OpenReader(0);
        var output = new CollectLongs();
        reader.Read(20, output, 0);
        Assert.Equal(20, ((ISeekableSourceReader)reader).Position);
        ((ISeekableSourceReader)reader).Seek(5);
        output.Values.Clear();
        reader.Read(3, output, 0);
        Assert.Equal([5L, 6L, 7L], output.Values);

        var memory = new InMemorySource<long>("mem", 1);
        for (var i = 0; i < 10; i++)
        {
            memory.Add(0, i, i);
        }

        var memoryReader = memory.OpenReader(0);
        ((ISeekableSourceReader)memoryReader).Seek(7);
        output.Values.Clear();
        memoryReader.Read(100, output, 0);
        Assert.Equal([7L, 8L, 9L], output.Values);
    }

    private static async Task ReadUntilAsync(ISourceReader<Event> reader, Collect output, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (output.Values.Count < count && DateTime.UtcNow < deadline)
        {
            reader.Read(1000, output, 0);
            await Task.Delay(20);
        }
    }

    private sealed class Collect : ISourceOutput<Event>
    {
        public List<Event> Values { get; } = [];

        public Exception? Record(Event value, long timestamp)
        {
            Values.Add(value);
            return null;
        }

        public void Watermark(long watermark)
        {
        }

        public void Idle()
        {
        }
    }

    private sealed class CollectLongs : ISourceOutput<long>
    {
        public List<long> Values { get; } = [];

        public Exception? Record(long value, long timestamp)
        {
            Values.Add(value);
            return null;
        }

        public void Watermark(long watermark)
        {
        }

        public void Idle()
        {
        }
    }
}
