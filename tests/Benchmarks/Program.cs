using Sluice.Benchmarks;

// Benchmarks print figures; they assert nothing. Usage: dotnet run -c Release --project tests/Benchmarks [-- --records N]
var records = args.Length >= 2 && args[0] == "--records" ? long.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2_000_000;
await DemoPipelineBenchmark.RunAsync(records);
