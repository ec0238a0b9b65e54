using System.Diagnostics;
using System.Globalization;
using Sluice.Kafka.Embedded;
using Xunit.Abstractions;

namespace Sluice.Tests.Chaos;

/// <summary>
/// The checkpoint issue's "must show" test: three <c>Sluice.Silo</c> processes in one Orleans cluster (Azure Table
/// membership on Azurite) run the windowed-counts job over a Kafka topic served from this process, while a random
/// silo is SIGKILLed every 10 s for a minute and replaced. The exactly-once file sink's committed output must then
/// equal a brute-force count of what was produced: no loss, no duplicate. A second run stops silos with SIGTERM
/// instead, and must get there without a single restart.
/// </summary>
/// <remarks>
/// Run alone: <c>dotnet test tests/Sluice.Tests -c Release --filter "FullyQualifiedName~Chaos" --logger "console;verbosity=detailed"</c>
/// (the detailed logger shows the report of a passing run too). The working folder (silo logs, checkpoints, output)
/// is kept when the test fails, or always with SLUICE_CHAOS_KEEP=1.
/// </remarks>
[Trait("Category", "Chaos")]
public sealed class MultiProcessChaosTests(AzuriteTableFixture azurite, ITestOutputHelper output) : IClassFixture<AzuriteTableFixture>
{
    private const string Pipeline = "windowed-counts";
    private const string Topic = "events";
    private const string OutputTopic = "counts";
    private const string MarkerTopic = "_sluice-kafka-commits";
    private const int OutputPartitions = 2;
    private const int Silos = 3;
    private const int Partitions = 6;
    private const int Keys = 200;
    private const double RecordsPerSecond = 2_500;
    private const int Kills = 6;
    private const int GracefulStops = 3;
    private const long WindowMs = 1_000;

    /// <summary>A real Kafka broker (host:port) for the exactly-once variant that reads with read_committed.</summary>
    private const string RealBrokerVariable = "SLUICE_KAFKA_BOOTSTRAP";

    /// <summary>Set to keep the working folder (silo logs, checkpoints, output) of a passing run too.</summary>
    private const string KeepFolderVariable = "SLUICE_CHAOS_KEEP";

    private static readonly TimeSpan MaxDisorder = TimeSpan.FromMilliseconds(300);
    // Larger than the disorder the producer creates, so no record is late and the oracle is a plain count.
    private static readonly TimeSpan OutOfOrdernessBound = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan KillEvery = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ProduceFor = TimeSpan.FromSeconds(70);
    private static readonly TimeSpan GracefulProduceFor = TimeSpan.FromSeconds(40);
    private static readonly TimeSpan GracefulStopTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan SiloStartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan OutputTimeout = TimeSpan.FromSeconds(90);

    [SkippableFact]
    public Task Killing_a_random_silo_every_10_s_neither_loses_nor_duplicates_a_window_count() =>
        RunAsync(graceful: false, Kills, ProduceFor);

    /// <summary>
    /// The same kills with the counts written to a Kafka topic exactly once. The embedded broker shows aborted
    /// transactions, so the check reads (sink task, epoch) from every record's headers: every epoch has its commit marker,
    /// however often it was produced its distinct records count once, and no window is in two epochs; together they must
    /// equal the oracle.
    /// </summary>
    [SkippableFact]
    public Task Killing_a_random_silo_every_10_s_with_a_Kafka_exactly_once_sink_loses_nothing_and_every_epoch_holds_the_oracles_counts() =>
        RunAsync(graceful: false, Kills, ProduceFor, KafkaOutput.Embedded);

    /// <summary>Against a real broker, which filters aborted transactions: a read_committed consumer sees exactly the oracle, each epoch once.</summary>
    [SkippableFact]
    public Task Killing_a_random_silo_every_10_s_with_a_Kafka_exactly_once_sink_on_a_real_broker_shows_read_committed_readers_exactly_the_oracle()
    {
        Skip.If(
            string.IsNullOrEmpty(Environment.GetEnvironmentVariable(RealBrokerVariable)),
            $"needs a real Kafka broker with transactions: set {RealBrokerVariable}=host:port (e.g. infra/compose.kafka.yml); the embedded mock cluster neither fences nor filters aborted transactions");
        return RunAsync(graceful: false, Kills, ProduceFor, KafkaOutput.RealBroker);
    }

    /// <summary>
    /// The same job, load and check, but the silos are stopped with SIGTERM (what a container platform sends when it
    /// scales in or replaces a revision): their key groups, sink tasks and the coordinator migrate and their source
    /// partitions are handed over, so besides the exact output the pipeline must never have restarted.
    /// </summary>
    [SkippableFact]
    public Task Stopping_a_random_silo_gracefully_every_10_s_moves_its_work_without_a_restart_and_neither_loses_nor_duplicates_a_window_count() =>
        RunAsync(graceful: true, GracefulStops, GracefulProduceFor);

    private enum KafkaOutput
    {
        None,
        Embedded,
        RealBroker,
    }

    private async Task RunAsync(bool graceful, int disruptions, TimeSpan produceFor, KafkaOutput kafkaOutput = KafkaOutput.None)
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        var root = Directory.CreateTempSubdirectory("sluice-chaos-").FullName;
        var checkpoints = Directory.CreateDirectory(Path.Combine(root, "checkpoints")).FullName;
        var outputFolder = Directory.CreateDirectory(Path.Combine(root, "output")).FullName;
        var logs = Directory.CreateDirectory(Path.Combine(root, "logs")).FullName;
        var clusterId = $"chaos{Guid.NewGuid():N}"[..16];
        Print($"seed {seed}; cluster '{clusterId}'; working folder {root}");

        using var kafka = EmbeddedKafka.Start(brokers: 3);
        var bootstrap = kafkaOutput == KafkaOutput.RealBroker ? Environment.GetEnvironmentVariable(RealBrokerVariable)! : kafka.BootstrapServers;
        // A real broker keeps topics between runs: every name of this run is new there.
        var run = kafkaOutput == KafkaOutput.RealBroker ? $"-{clusterId}" : string.Empty;
        var topics = new ChaosTopics($"{Topic}{run}", $"{OutputTopic}{run}", $"{MarkerTopic}{run}");
        await topics.CreateAsync(bootstrap, kafka, Partitions, OutputPartitions, kafkaOutput != KafkaOutput.RealBroker);
        var settings = SiloSettings(azurite.ConnectionString, bootstrap, clusterId, checkpoints, outputFolder, topics.Input);
        if (kafkaOutput != KafkaOutput.None)
        {
            settings["Jobs__WindowedCounts__OutputTopic"] = topics.Output;
            settings["Jobs__WindowedCounts__CommitMarkerTopic"] = topics.Markers;
            settings["Jobs__WindowedCounts__TransactionalIdPrefix"] = $"chaos{run}";
        }

        var isolation = kafkaOutput == KafkaOutput.RealBroker ? Confluent.Kafka.IsolationLevel.ReadCommitted : Confluent.Kafka.IsolationLevel.ReadUncommitted;
        KafkaSinkOutput? lastKafkaOutput = null;
        List<(ChaosWindowCount Count, string File)> ReadOutput()
        {
            if (kafkaOutput == KafkaOutput.None)
            {
                return CommittedOutput.Read(outputFolder);
            }

            lastKafkaOutput = KafkaSinkOutput.Read(bootstrap, topics.Output, OutputPartitions, topics.Markers, isolation);
            return lastKafkaOutput.Counts;
        }

        var silos = new List<SiloProcess>();
        var kills = new List<(SiloProcess Silo, DateTimeOffset At, TimeSpan Elapsed, SiloProcess Replacement)>();
        var stops = new List<(SiloProcess Silo, Task<TimeSpan?> Exited)>();
        var replacementsReady = new List<(SiloProcess Silo, Task Ready)>();
        var passed = false;
        ChaosObserver? observer = null;
        try
        {
            SiloProcess StartSilo() => Track(silos, SiloProcess.Start($"silo-{silos.Count + 1}", logs, settings));
            for (var i = 0; i < Silos; i++)
            {
                StartSilo();
            }

            await Task.WhenAll(silos.Select(s => s.WaitUntilServingAsync(Pipeline, SiloStartTimeout)));
            Print($"{Silos} silos serving after {clock.Elapsed.TotalSeconds:F1} s ({string.Join(", ", silos.Select(s => $"{s.Name}: silo {s.SiloPort}, api {s.ApiPort}"))})");
            observer = new ChaosObserver(Pipeline, checkpoints, outputFolder, () => Snapshot(silos), azurite.ConnectionString, clusterId);

            using var producer = new ChaosProducer(bootstrap, topics.Input, Partitions, Keys, RecordsPerSecond, MaxDisorder, seed);
            producer.Start(produceFor);
            var producing = Stopwatch.StartNew();
            Print($"producing {RecordsPerSecond:N0} records/s for {produceFor.TotalSeconds:N0} s to {Partitions} partitions, {Keys} keys, disorder <= {MaxDisorder.TotalMilliseconds} ms");

            for (var k = 1; k <= disruptions; k++)
            {
                await Task.Delay(KillEvery);
                foreach (var crashed in silos.Where(s => s.ExitedOnItsOwn && !kills.Any(x => x.Silo == s)).ToList())
                {
                    Print($"!! {crashed.Name} exited on its own (code {crashed.ExitCode}); starting a replacement:\n{crashed.Tail(30)}");
                    var substitute = StartSilo();
                    replacementsReady.Add((substitute, substitute.WaitUntilServingAsync(Pipeline, SiloStartTimeout)));
                    kills.Add((crashed, DateTimeOffset.UtcNow, producing.Elapsed, substitute));
                }

                // Only members that finished joining: killing a replacement still starting would leave fewer than three.
                var live = silos.Where(s => s.IsAlive && s.IsServing).ToList();
                var victim = live[random.Next(live.Count)];
                if (graceful)
                {
                    stops.Add((victim, victim.StopGracefullyAsync(GracefulStopTimeout)));
                }
                else
                {
                    victim.Kill();
                }

                var at = victim.KilledAt!.Value;
                var replacement = StartSilo();
                replacementsReady.Add((replacement, replacement.WaitUntilServingAsync(Pipeline, SiloStartTimeout)));
                Print($"{(graceful ? "graceful stop" : "kill")} #{k} at +{producing.Elapsed.TotalSeconds:F1} s: {victim.Name} (silo port {victim.SiloPort}); replacement {replacement.Name}; "
                    + $"checkpoints completed so far {observer.CompletedInFolder.Count}, attempts {observer.Attempts.Count}");
                kills.Add((victim, at, producing.Elapsed, replacement));
            }

            await producer.FinishAsync(TimeSpan.FromSeconds(30));
            Assert.True(producer.Failed == 0, $"{producer.Failed} record(s) were not acknowledged by Kafka (last error: {producer.LastError}); the oracle would be unreliable");
            var produced = producer.Acknowledged();
            Print($"production ended at +{producing.Elapsed.TotalSeconds:F1} s: {produced.Count:N0} records acknowledged, end markers written");

            var expected = WindowCountOracle.Count(produced, WindowMs);
            var comparison = await WaitForOutputAsync(expected, ReadOutput, observer, silos);
            await Task.Delay(TimeSpan.FromSeconds(3)); // a late duplicate commit would show up in this reading
            await observer.ObserveOnceAsync(CancellationToken.None);
            comparison = new WindowCountComparison(expected, ReadOutput(), WindowMs);

            foreach (var (silo, ready) in replacementsReady.Where(r => r.Silo.KilledAt is null))
            {
                Print(ready.IsCompletedSuccessfully
                    ? $"replacement {silo.Name} joined and served after {(silo.ServingSince - silo.StartedAt)?.TotalSeconds:F1} s"
                    : $"!! replacement {silo.Name} did not start: {ready.Exception?.InnerException?.Message ?? "still starting"}");
            }

            foreach (var (silo, exited) in stops)
            {
                var took = await exited;
                Print(took is { } t
                    ? $"{silo.Name} shut down gracefully in {t.TotalSeconds:F1} s (exit code {silo.ExitCode})"
                    : $"!! {silo.Name} had not exited {GracefulStopTimeout.TotalSeconds:N0} s after SIGTERM");
            }

            Report(observer, kills, silos, comparison, clock.Elapsed);

            // The oracle counts what the broker acknowledged; reading the topic back proves that is what the job could read.
            // Done once the output is in: while the silos replay, this process gets little CPU and the read crawls.
            var readBack = Stopwatch.StartNew();
            var inTopic = TopicContents.Read(bootstrap, topics.Input, Partitions, TimeSpan.FromSeconds(60))
                .Where(r => r.Event.Key != ChaosProducer.EndKey).Select(r => r.Event.Id).ToList();
            Assert.True(
                inTopic.Count == produced.Count && inTopic.ToHashSet().SetEquals(produced.Select(e => e.Id)),
                $"the topic holds {inTopic.Count:N0} records ({inTopic.Distinct().Count():N0} distinct ids) but {produced.Count:N0} were acknowledged: "
                + "the mock cluster dropped or duplicated records, so the oracle would not describe the input");
            Print($"the topic, read back in {readBack.Elapsed.TotalSeconds:F1} s, holds exactly the {produced.Count:N0} acknowledged records");

            if (lastKafkaOutput is { } kafkaSink)
            {
                Print($"Kafka sink output: {kafkaSink.Epochs} epochs, {kafkaSink.Reproduced} of them produced more than once ({isolation}); problems: {kafkaSink.Problems.Count}");
                Assert.True(kafkaSink.Problems.Count == 0, $"the Kafka sink's output is not exactly once:\n{string.Join("\n", kafkaSink.Problems.Take(10))}");
            }

            Assert.True(comparison.Exact, $"the committed window counts differ from the oracle:\n{comparison}");
            if (graceful)
            {
                // Only the attempt the run started with: no stop (nor any replacement joining) restarted the pipeline.
                Assert.True(
                    observer.Attempts.Count == 1,
                    $"the pipeline restarted on a graceful stop: {string.Join("; ", observer.Attempts.OrderBy(a => a.Key).Select(a => $"attempt {a.Key}: {a.Value.Reason}"))}");
                Assert.All(stops, s => Assert.True(s.Exited.Result is not null, $"{s.Silo.Name} did not exit after SIGTERM"));
            }

            passed = true;
        }
        finally
        {
            if (observer is not null)
            {
                await observer.DisposeAsync();
            }

            foreach (var silo in silos)
            {
                await silo.DisposeAsync();
            }

            if (!passed)
            {
                foreach (var silo in silos)
                {
                    Print($"---- last lines of {silo.Name} ({(silo.KilledAt is null ? "running at the end" : silo.StoppedGracefully ? "stopped" : "killed")}); full log {silo.LogPath}\n{silo.Tail(25)}");
                }
            }

            if (!passed || Environment.GetEnvironmentVariable(KeepFolderVariable) is { Length: > 0 })
            {
                Print($"working folder kept for inspection (silo logs, checkpoints, output): {root}");
            }
            else
            {
                TryDelete(root);
            }
        }
    }

    private async Task<WindowCountComparison> WaitForOutputAsync(
        Dictionary<(string Key, long Start), long> expected, Func<List<(ChaosWindowCount Count, string File)>> read, ChaosObserver observer, List<SiloProcess> silos)
    {
        var waiting = Stopwatch.StartNew();
        WindowCountComparison comparison;
        while (true)
        {
            comparison = new WindowCountComparison(expected, read(), WindowMs);
            if (comparison.Covered == comparison.Expected)
            {
                Print($"the committed output covers every (key, window) of the oracle after {waiting.Elapsed.TotalSeconds:F1} s of waiting");
                return comparison;
            }

            var stop = waiting.Elapsed > OutputTimeout ? $"timed out after {OutputTimeout.TotalSeconds:N0} s"
                : observer.LastStatus == "Failed" ? "the pipeline is FAILED"
                : !silos.Any(s => s.IsAlive) ? "no silo is running"
                : null;
            if (stop is not null)
            {
                Print($"stopped waiting for the output ({stop}); covered {comparison.Covered:N0}/{comparison.Expected:N0}");
                return comparison;
            }

            await Task.Delay(1_000);
        }
    }

    private void Report(
        ChaosObserver observer,
        List<(SiloProcess Silo, DateTimeOffset At, TimeSpan Elapsed, SiloProcess Replacement)> kills,
        List<SiloProcess> silos,
        WindowCountComparison comparison,
        TimeSpan total)
    {
        var completed = observer.CompletedInFolder.Keys.Order().ToList();
        var api = observer.ApiCheckpoints;
        Print($"checkpoints: {completed.Count} seen completed in the folder (ids {(completed.Count == 0 ? "-" : $"{completed[0]}..{completed[^1]}")}); "
            + $"the API's history (live coordinator) lists {api.Count(c => c.Value.State == "Completed")} completed, "
            + $"{api.Count(c => c.Value.State == "Failed")} failed, {api.Count(c => c.Value.State == "InProgress")} in progress");
        foreach (var failure in api.Values.Where(c => c.Failure is not null).GroupBy(c => c.Failure).Take(5))
        {
            Print($"  checkpoint failure x{failure.Count()}: {failure.Key}");
        }

        Print($"pipeline attempts: {(observer.Attempts.IsEmpty ? "no attempt markers in the checkpoint folder" : $"{observer.Attempts.Count} markers, highest {observer.Attempts.Keys.Max()}")}; "
            + $"API recovery: {observer.LastRecovery ?? "not reported by GET /api/pipelines/{id}"}; last status {observer.LastStatus ?? "-"}, recordsIn {observer.LastRecordsIn:N0}, late records dropped {observer.LastLateRecordsDropped:N0}");
        foreach (var (attempt, seen) in observer.Attempts.OrderBy(a => a.Key))
        {
            Print($"  attempt {attempt} started {seen.StartedAt:HH:mm:ss.fff} from checkpoint {seen.RestoredFrom}: {seen.Reason}");
        }

        Print($"progress as the API last reported it (current attempt){(observer.LastError is { } lastError ? $"; last error: {lastError}" : string.Empty)}:");
        foreach (var line in observer.LastProgress)
        {
            Print($"  {line}");
        }

        Print("recovery per kill or stop (times after the signal):");
        foreach (var (silo, at, elapsed, replacement) in kills)
        {
            Print($"  {silo.Name} {(silo.StoppedGracefully ? "stopped" : "killed")} at +{elapsed.TotalSeconds:F1} s ({at:HH:mm:ss.fff}, replaced by {replacement.Name}): {observer.RecoveryAfter(at, silo.SiloPort)}");
        }

        Print($"output: {observer.CommittedFiles.Count} committed files; {comparison}");
        foreach (var silo in silos)
        {
            var problems = silo.Problems.Values.OrderByDescending(p => p.Count).Take(8).ToList();
            Print($"{silo.Name} ({(silo.StoppedGracefully ? "stopped" : silo.KilledAt is not null ? "killed" : silo.ExitedOnItsOwn ? $"EXITED with {silo.ExitCode}" : "running")}): "
                + $"{silo.Problems.Values.Sum(p => p.Count)} warnings/errors logged{(problems.Count == 0 ? string.Empty : "; most frequent, first instance of each:")}");
            foreach (var (count, example) in problems)
            {
                Print($"    x{count} {(example.Length > 500 ? example[..500] + "..." : example)}");
            }
        }

        if (observer.LastObservationError is { } error)
        {
            Print($"last observation error: {error}");
        }

        Print($"total run time {total.TotalSeconds:F0} s");
    }

    private static Dictionary<string, string> SiloSettings(string membership, string bootstrapServers, string clusterId, string checkpoints, string outputFolder, string inputTopic) => new()
    {
        ["Sluice__Job"] = Pipeline,
        ["Sluice__ClusterId"] = clusterId,
        ["Sluice__ServiceId"] = "sluice-chaos",
        ["Sluice__Clustering__Kind"] = "AzureTable",
        ["Sluice__Clustering__ConnectionString"] = membership,
        ["Sluice__Clustering__Membership__ProbeTimeout"] = "00:00:02",
        ["Sluice__Clustering__Membership__NumMissedProbesLimit"] = "2",
        ["Kafka__BootstrapServers"] = bootstrapServers,
        ["Jobs__WindowedCounts__PipelineId"] = Pipeline,
        ["Jobs__WindowedCounts__InputTopic"] = inputTopic,
        ["Jobs__WindowedCounts__Output"] = outputFolder,
        ["Jobs__WindowedCounts__Window"] = TimeSpan.FromMilliseconds(WindowMs).ToString("c", CultureInfo.InvariantCulture),
        ["Jobs__WindowedCounts__MaxOutOfOrderness"] = OutOfOrdernessBound.ToString("c", CultureInfo.InvariantCulture),
        ["Jobs__WindowedCounts__CheckpointInterval"] = "00:00:01",
        ["Jobs__WindowedCounts__ResumeFromCheckpoint"] = "true",
        ["Checkpoints__Kind"] = "FileSystem",
        ["Checkpoints__FileSystem__Root"] = checkpoints,
        // Three silos share two cores with the test: workstation GC keeps each process small.
        ["DOTNET_gcServer"] = "0",
    };

    // The observer reads the list from its own thread while kills add replacements.
    private static SiloProcess Track(List<SiloProcess> silos, SiloProcess silo)
    {
        lock (silos)
        {
            silos.Add(silo);
        }

        return silo;
    }

    private static List<SiloProcess> Snapshot(List<SiloProcess> silos)
    {
        lock (silos)
        {
            return silos.Where(s => s.IsAlive).ToList();
        }
    }

    private void Print(string line) => output.WriteLine($"[chaos {DateTimeOffset.UtcNow:HH:mm:ss.fff}] {line}");

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
