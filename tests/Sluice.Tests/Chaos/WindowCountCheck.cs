using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;

namespace Sluice.Tests.Chaos;

/// <summary>The brute-force answer: events per (key, tumbling window start), counted directly from what was produced.</summary>
internal static class WindowCountOracle
{
    public static Dictionary<(string Key, long Start), long> Count(IEnumerable<ChaosEvent> events, long windowMs)
    {
        var counts = new Dictionary<(string, long), long>();
        foreach (var e in events)
        {
            var start = e.Ts - (((e.Ts % windowMs) + windowMs) % windowMs);
            counts[(e.Key, start)] = counts.GetValueOrDefault((e.Key, start)) + 1;
        }

        return counts;
    }
}

/// <summary>Reads a whole topic back (every partition from its start to its current end).</summary>
internal static class TopicContents
{
    public static List<(int Partition, ChaosEvent Event)> Read(string bootstrapServers, string topic, int partitions, TimeSpan timeout)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = $"chaos-read-back-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
        }).Build();
        var ends = new Dictionary<int, long>();
        var assignment = new List<TopicPartitionOffset>();
        for (var p = 0; p < partitions; p++)
        {
            var marks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), timeout);
            ends[p] = marks.High.Value;
            assignment.Add(new TopicPartitionOffset(topic, p, marks.Low));
        }

        consumer.Assign(assignment);
        var result = new List<(int, ChaosEvent)>();
        var deadline = DateTime.UtcNow + timeout;
        var done = ends.Where(e => e.Value == 0).Select(e => e.Key).ToHashSet();
        while (done.Count < partitions)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"reading '{topic}' back took longer than {timeout}");
            }

            var record = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (record?.Message is null)
            {
                continue;
            }

            result.Add((record.Partition.Value, JsonSerializer.Deserialize(record.Message.Value, ChaosJson.Default.ChaosEvent)!));
            if (record.Offset.Value + 1 >= ends[record.Partition.Value])
            {
                done.Add(record.Partition.Value);
            }
        }

        return result;
    }
}

/// <summary>
/// The committed output of the file sink: every JSON line of every file under the output folder, skipping staging
/// and temporary files (names or folders starting with '.' or '_', the convention for files readers must not see).
/// </summary>
internal static class CommittedOutput
{
    public static IEnumerable<string> Files(string root) =>
        Directory.Exists(root)
            ? Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
                .Where(f => !Path.GetRelativePath(root, f).Split(Path.DirectorySeparatorChar).Any(s => s.StartsWith('.') || s.StartsWith('_')))
                .Order(StringComparer.Ordinal)
            : [];

    /// <summary>
    /// The checkpoint that committed a part file, from the sink's naming (<c>part-{task:D4}-{checkpoint:D10}.jsonl</c>);
    /// -1 for a name of another shape.
    /// </summary>
    public static long CheckpointOf(string file)
    {
        var name = Path.GetFileNameWithoutExtension(file);
        var dash = name.LastIndexOf('-');
        return dash >= 0 && long.TryParse(name.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : -1;
    }

    public static List<(ChaosWindowCount Count, string File)> Read(string root)
    {
        var lines = new List<(ChaosWindowCount, string)>();
        foreach (var file in Files(root))
        {
            string[] text;
            try
            {
                text = File.ReadAllLines(file);
            }
            catch (IOException)
            {
                continue; // removed or replaced while we looked; the next poll sees its final state
            }

            foreach (var line in text.Where(l => l.Length > 0))
            {
                lines.Add((JsonSerializer.Deserialize(line, ChaosJson.Default.ChaosWindowCount)!, Path.GetRelativePath(root, file)));
            }
        }

        return lines;
    }
}

/// <summary>How the committed counts differ from the oracle: duplicates, losses, wrong counts and strangers.</summary>
internal sealed class WindowCountComparison
{
    private const int Examples = 10;

    public WindowCountComparison(Dictionary<(string Key, long Start), long> expected, List<(ChaosWindowCount Count, string File)> output, long windowMs)
    {
        var real = output.Where(o => o.Count.Key != ChaosProducer.EndKey).ToList();
        var byWindow = real.GroupBy(o => (o.Count.Key, o.Count.WindowStart)).ToDictionary(g => g.Key, g => g.ToList());
        Lines = real.Count;
        Expected = expected.Count;
        ExpectedRecords = expected.Values.Sum();
        OutputRecords = real.Sum(o => o.Count.Count);
        Duplicated = byWindow.Where(w => w.Value.Count > 1).Select(w => Describe(w.Key, expected, w.Value)).ToList();
        Missing = expected.Keys.Where(k => !byWindow.ContainsKey(k)).Select(k => $"{k.Key} [{k.Start}, {k.Start + windowMs}) expected {expected[k]}").ToList();
        WrongCount = byWindow
            .Where(w => w.Value.Count == 1 && expected.TryGetValue(w.Key, out var n) && w.Value[0].Count.Count != n)
            .Select(w => Describe(w.Key, expected, w.Value))
            .ToList();
        Unexpected = byWindow.Where(w => !expected.ContainsKey(w.Key)).Select(w => Describe(w.Key, expected, w.Value)).ToList();
        WrongEnd = real.Where(o => o.Count.WindowEnd != o.Count.WindowStart + windowMs).Select(o => $"{o.Count} in {o.File}").ToList();
        Covered = expected.Keys.Count(byWindow.ContainsKey);
    }

    public int Lines { get; }

    public int Expected { get; }

    public int Covered { get; }

    public long ExpectedRecords { get; }

    public long OutputRecords { get; }

    public List<string> Duplicated { get; }

    public List<string> Missing { get; }

    public List<string> WrongCount { get; }

    public List<string> Unexpected { get; }

    public List<string> WrongEnd { get; }

    public bool Exact => Duplicated.Count == 0 && Missing.Count == 0 && WrongCount.Count == 0 && Unexpected.Count == 0 && WrongEnd.Count == 0;

    public override string ToString()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"oracle: {Expected:N0} (key, window) counts over {ExpectedRecords:N0} records; committed: {Lines:N0} lines over {OutputRecords:N0} records, covering {Covered:N0}/{Expected:N0}");
        Section(text, "duplicated (key, window) lines", Duplicated);
        Section(text, "missing (key, window)", Missing);
        Section(text, "wrong count", WrongCount);
        Section(text, "(key, window) not in the oracle", Unexpected);
        Section(text, "window end != start + size", WrongEnd);
        return text.ToString();
    }

    private static void Section(StringBuilder text, string title, List<string> items)
    {
        text.AppendLine(CultureInfo.InvariantCulture, $"  {title}: {items.Count:N0}");
        foreach (var item in items.Take(Examples))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    {item}");
        }
    }

    private static string Describe((string Key, long Start) window, Dictionary<(string, long), long> expected, List<(ChaosWindowCount Count, string File)> lines) =>
        $"{window.Key} @{window.Start}: expected {(expected.TryGetValue(window, out var n) ? n.ToString(CultureInfo.InvariantCulture) : "none")}, "
        + $"committed {string.Join(" + ", lines.Select(l => $"{l.Count.Count} ({l.File})"))}";
}
