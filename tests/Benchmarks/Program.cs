using System.Globalization;
using Sluice.Benchmarks;

// Benchmarks print figures; they assert nothing.
// Usage: dotnet run -c Release --project tests/Benchmarks [-- [demo|kafka] [--records N]]
// No benchmark name runs both; --records N applies to whichever runs (defaults: demo 2,000,000, kafka 1,000,000).
string? which = null;
long? records = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--records" when i + 1 < args.Length:
            records = long.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "demo" or "kafka" when which is null:
            which = args[i];
            break;
        default:
            Console.Error.WriteLine($"Unknown argument '{args[i]}'. Usage: [demo|kafka] [--records N]");
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

return 0;
