using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Sluice.Silo.Jobs.Fraud;
using Xunit.Abstractions;

namespace Sluice.Tests.Jobs.Fraud;

/// <summary>
/// The fraud job as a user runs it: the silo executable with <c>Sluice__Job=fraud</c>, its embedded Kafka and its
/// generator (bounded here, and fast: event time 40 times the wall clock). The alerts it writes must equal the oracle
/// of the transactions and rule versions read back from its topics.
/// </summary>
public sealed class FraudSiloTests(ITestOutputHelper output)
{
    private const int Transactions = 3_000;
    private const int RuleChangeEvery = 500;
    private const int Partitions = 4;

    [Fact]
    public async Task Silo_running_the_fraud_job_writes_exactly_the_oracles_alerts_for_its_generated_data()
    {
        var apiPort = FreePort();
        var checkpoints = Directory.CreateTempSubdirectory("sluice-fraud-silo-").FullName;
        var silo = Path.Combine(AppContext.BaseDirectory, "Sluice.Silo.dll");
        var start = new ProcessStartInfo("dotnet", $"\"{silo}\"")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        var seed = Environment.TickCount & 0xFFFF;
        var settings = new Dictionary<string, string>
        {
            ["Sluice__Job"] = "fraud",
            ["Sluice__ApiUrl"] = $"http://127.0.0.1:{apiPort}",
            ["Sluice__ApiKey"] = "fraud-test-key", // required outside Development
            ["Sluice__SiloPort"] = Port(),
            ["Sluice__GatewayPort"] = Port(),
            ["Sluice__ClusterId"] = $"test-{Guid.NewGuid():N}",
            ["Checkpoints__FileSystem__Root"] = checkpoints,
            ["Jobs__Fraud__CheckpointInterval"] = "00:00:02",
            ["Jobs__Fraud__Partitions"] = $"{Partitions}",
            ["Jobs__Fraud__Generator__Transactions"] = $"{Transactions}",
            ["Jobs__Fraud__Generator__TransactionsPerSecond"] = "1000",
            ["Jobs__Fraud__Generator__TimeScale"] = "40",
            ["Jobs__Fraud__Generator__Cards"] = "50",
            ["Jobs__Fraud__Generator__RuleChangeEvery"] = $"{RuleChangeEvery}",
            ["Jobs__Fraud__Generator__Seed"] = seed.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (name, value) in settings)
        {
            start.Environment[name] = value;
        }

        output.WriteLine($"generator seed {seed} (Jobs__Fraud__Generator__Seed)");
        using var process = Process.Start(start)!;
        var lines = new ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var bootstrap = await BootstrapAsync(lines, TimeSpan.FromSeconds(60));
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}") };
            http.DefaultRequestHeaders.Add("X-Api-Key", "fraud-test-key");
            await WaitForRunningAsync(http, lines, TimeSpan.FromSeconds(60));

            var rules = FraudOracle.Read(bootstrap, "fraud-rules", 1 + ((Transactions - 1) / RuleChangeEvery), TimeSpan.FromSeconds(60), FraudJson.Default.FraudRule);
            var transactions = FraudOracle.Read(bootstrap, "transactions", Transactions + Partitions, TimeSpan.FromSeconds(60), FraudJson.Default.CardTransaction);
            Assert.Equal(Transactions + Partitions, transactions.Count);
            var expected = FraudOracle.Alerts(transactions, rules);
            output.WriteLine($"{transactions.Count} transactions, {rules.Count} rule versions, {expected.Count} alerts expected "
                + $"({string.Join(", ", expected.GroupBy(a => a.RuleId).Select(g => $"{g.Key}: {g.Count()}"))})");
            Assert.NotEmpty(expected);

            var alerts = FraudOracle.Read(bootstrap, "fraud-alerts", expected.Count, TimeSpan.FromSeconds(90), FraudJson.Default.FraudAlert);
            var status = await http.GetStringAsync("/api/pipelines/fraud");
            output.WriteLine(status);
            FraudOracle.AssertSame(expected, alerts, $"generator seed {seed}; status {status}");
            Assert.Contains(lines, l => l.StartsWith("[fraud] ", StringComparison.Ordinal));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Directory.Delete(checkpoints, recursive: true);
        }
    }

    /// <summary>The embedded Kafka's address, as the silo prints it when it starts one.</summary>
    private static async Task<string> BootstrapAsync(ConcurrentQueue<string> lines, TimeSpan timeout)
    {
        const string Marker = "[sluice] embedded Kafka (3 brokers) at ";
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var line in lines)
            {
                if (line.StartsWith(Marker, StringComparison.Ordinal))
                {
                    return line[Marker.Length..line.IndexOf(';', StringComparison.Ordinal)];
                }
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"The silo did not start its embedded Kafka. Output:\n{string.Join('\n', lines.TakeLast(40))}");
    }

    private static async Task WaitForRunningAsync(HttpClient http, IEnumerable<string> lines, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var doc = JsonDocument.Parse(await http.GetStringAsync("/api/pipelines"));
                var fraud = doc.RootElement.EnumerateArray().Single(p => p.GetProperty("id").GetString() == "fraud");
                last = fraud.ToString();
                if (fraud.GetProperty("status").GetString() == "Running" && fraud.GetProperty("recordsIn").GetInt64() > 0)
                {
                    return;
                }
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"The fraud pipeline was not Running in time ({last}). Output:\n{string.Join('\n', lines.TakeLast(40))}");
    }

    private static string Port() => FreePort().ToString(CultureInfo.InvariantCulture);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
