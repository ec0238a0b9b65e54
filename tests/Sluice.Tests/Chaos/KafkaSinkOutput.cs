using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;

namespace Sluice.Tests.Chaos;

/// <summary>
/// The output of the job's exactly-once Kafka sink. Every record carries its (sink task, epoch) in headers and every
/// committed epoch has a marker. The embedded broker keeps the records of aborted transactions visible, so there an epoch
/// may appear several times (whole, or cut short by a kill): its distinct records count once. A real broker read with
/// read_committed must show every epoch once.
/// </summary>
internal sealed class KafkaSinkOutput
{
    public const string TaskHeader = "sluice-task";
    public const string EpochHeader = "sluice-epoch";

    private KafkaSinkOutput(List<(ChaosWindowCount Count, string File)> counts, List<string> problems, int epochs, int reproduced)
    {
        Counts = counts;
        Problems = problems;
        Epochs = epochs;
        Reproduced = reproduced;
    }

    /// <summary>One copy of every committed epoch's counts; "File" names the (task, epoch).</summary>
    public List<(ChaosWindowCount Count, string File)> Counts { get; }

    /// <summary>Epochs with records but no marker, records without headers, and (read_committed) an epoch committed twice.</summary>
    public List<string> Problems { get; }

    public int Epochs { get; }

    /// <summary>Epochs that appear more than once (aborted transactions on the embedded broker).</summary>
    public int Reproduced { get; }

    public static KafkaSinkOutput Read(string bootstrap, string topic, int partitions, string markerTopic, IsolationLevel isolation)
    {
        var records = ReadAll(bootstrap, topic, partitions, isolation);
        var markers = ReadAll(bootstrap, markerTopic, 1, isolation)
            .Select(r => (r.Task, r.Epoch))
            .ToHashSet();
        var counts = new List<(ChaosWindowCount, string)>();
        var problems = new List<string>();
        var reproduced = 0;
        var epochs = 0;
        foreach (var epoch in records.GroupBy(r => (r.Task, r.Epoch)))
        {
            epochs++;
            var name = $"task {epoch.Key.Task} epoch {epoch.Key.Epoch}";
            if (epoch.Key.Task is null)
            {
                problems.Add($"{epoch.Count()} records without the sink's headers");
                continue;
            }

            if (!markers.Contains(epoch.Key))
            {
                problems.Add($"{name}: {epoch.Count()} records but no commit marker");
            }

            // A silo killed mid-transaction leaves part of the epoch on the embedded broker (an aborted transaction it
            // shows anyway); the restored task produces the whole epoch again. So there the distinct records count, and
            // a window in two epochs or a count off the oracle is what the comparison catches.
            var values = epoch.GroupBy(r => r.Value).ToDictionary(g => g.Key, g => g.Count());
            if (values.Values.Any(n => n > 1))
            {
                reproduced++;
                if (isolation == IsolationLevel.ReadCommitted)
                {
                    problems.Add($"{name}: committed {values.Values.Max()} times");
                }
            }

            foreach (var value in values.Keys)
            {
                counts.Add((JsonSerializer.Deserialize(value, ChaosJson.Default.ChaosWindowCount)!, name));
            }
        }

        return new KafkaSinkOutput(counts, problems, epochs, reproduced);
    }

    private static List<(string? Task, long Epoch, string Value)> ReadAll(string bootstrap, string topic, int partitions, IsolationLevel isolation)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = $"chaos-output-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            IsolationLevel = isolation,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var result = new List<(string?, long, string)>();
        var ended = new HashSet<int>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (ended.Count < partitions)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"reading '{topic}' did not reach the end of every partition within 60 s");
            }

            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is not { } record)
            {
                continue;
            }

            if (record.IsPartitionEOF)
            {
                ended.Add(record.Partition.Value);
                continue;
            }

            ended.Remove(record.Partition.Value);
            var epoch = Header(record, EpochHeader);
            result.Add((Header(record, TaskHeader), epoch is null ? -1 : long.Parse(epoch, CultureInfo.InvariantCulture), record.Message.Value is { } v ? Encoding.UTF8.GetString(v) : string.Empty));
        }

        return result;
    }

    private static string? Header(ConsumeResult<byte[]?, byte[]?> record, string name) =>
        record.Message.Headers is { } headers && headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : null;
}
