using System.Globalization;
using Sluice.Benchmarks;

// Benchmarks print figures; they assert nothing.
// Usage: dotnet run -c Release --project tests/Benchmarks [-- [demo|kafka|kafka-eos|checkpoint] [--records N] [--keys N]]
// No benchmark name runs all; --records N applies to demo, kafka and kafka-eos (defaults: demo 2,000,000, kafka 1,000,000,
// kafka-eos 300,000),
// --keys N to checkpoint (default: 100,000 then 1,000,000 keys of window state).
string? which = null;
long? records = null;
long? keys = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--records" when i + 1 < args.Length:
            records = long.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--keys" when i + 1 < args.Length:
            keys = long.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "demo" or "kafka" or "kafka-eos" or "checkpoint" when which is null:
            which = args[i];
            break;
        default:
            Console.Error.WriteLine($"Unknown argument '{args[i]}'. Usage: [demo|kafka|kafka-eos|checkpoint] [--records N] [--keys N]");
            return 2;
    }
}

if (which is null or "demo")
{
    await DemoPipelineBenchmark.RunAsync(records ?? 2_000_000);
}

if (which is null or "kafka")
{
    await KafkaPipelineBenchmark.RunAsync(records ?? 1_000_000);
}

if (which is null or "kafka-eos")
{
    await KafkaExactlyOnceBenchmark.RunAsync(records ?? 300_000);
}

if (which is null or "checkpoint")
{
    await CheckpointBenchmark.RunAsync(keys is { } k ? [k] : [100_000, 1_000_000]);
}

return 0;
