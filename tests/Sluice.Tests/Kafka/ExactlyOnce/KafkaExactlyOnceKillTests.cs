using System.Globalization;
using Sluice.Functions;
using Sluice.Grains;
using Sluice.Kafka;
using Sluice.Kafka.Embedded;
using Sluice.KeyGroups;
using Sluice.Pipelines;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Sluice.Tests.Recovery;
using Sluice.Time;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.Kafka.ExactlyOnce;

/// <summary>
/// FromKafka -> tumbling window count -> ToKafka exactly once on real in-process silos; the silo running sink task 0 is
/// crashed at a chosen point of that task's transaction protocol (the sink's step hook blocks the protocol there until the
/// silo is dead, then fails it). After the restart from the last complete checkpoint, the output read per (sink task,
/// epoch) equals the brute-force oracle: every window once, every epoch with a marker, each copy of an epoch whole, and
/// only the epoch cut in the middle of its transaction produced twice (the mock keeps aborted records visible).
/// </summary>
public sealed class KafkaExactlyOnceKillTests(ITestOutputHelper output) : IDisposable
{
    private const string Input = "in";
    private const int Partitions = 4;
    private const int Records = 3_000;
    private const long WindowSize = 500;
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-kafka-eos-kill-").FullName;

    [Theory]
    [InlineData(nameof(KafkaTransactionStep.Beginning), false)] // (a) checkpoint complete, the epoch's transaction not begun
    [InlineData(nameof(KafkaTransactionStep.RecordsProduced), false)] // (b) records on the broker, marker and commit not
    [InlineData(nameof(KafkaTransactionStep.Committed), false)] // (c) committed, the sink task not told
    [InlineData(nameof(KafkaTransactionStep.Beginning), true)] // (a) with every epoch spilled to the checkpoint store
    public async Task A_silo_killed_at_a_step_of_the_sink_transaction_recovers_to_the_oracles_output(string at, bool spill)
    {
        var step = Enum.Parse<KafkaTransactionStep>(at);
        var pipelineId = $"eos-kill-{at.ToLowerInvariant()}{(spill ? "-spilled" : "")}";
        using var kafka = EpochLog.Start();
        kafka.CreateTopic(Input, Partitions);
        var options = EpochLog.Options(kafka.BootstrapServers);
        options.SpillThreshold = spill ? 0 : null;
        var sink = new KafkaSink<string>(EpochLog.SinkName, options, Confluent.Kafka.Serializers.Utf8, parallelism: 2);
        var pipeline = Define(pipelineId, kafka, sink);
        var sinkStage = PipelinePlanner.Plan(pipeline).Stages.Single(s => s.Kind == StageKind.Sink).Index;
        using var crash = new CrashPoint(step, EpochLog.TransactionalId(pipelineId, 0));
        sink.TransactionHook = crash.OnStep;

        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 3);
        cluster.Register(pipeline);
        using var producer = PacedProducer.Start(kafka, Input, Partitions, Records, perTick: 10, tick: TimeSpan.FromMilliseconds(20));
        await RecoveryScenario.WaitForAsync(() => crash.Committed >= 2, TimeSpan.FromSeconds(90), "two epochs of sink task 0 committed");

        // Sink task 0 must run on a silo that can be crashed (the primary holds the test cluster's membership).
        var client = cluster.Cluster.Client;
        var task0 = client.GetGrain<IKeyGroupGrain>(PipelinePlan.TaskKey(pipelineId, sinkStage, 0));
        var management = client.GetGrain<IManagementGrain>(0);
        var primary = cluster.Cluster.Primary!.SiloAddress;
        var victim = cluster.Cluster.SecondarySilos[^1];
        // A sink task declines a move while an epoch is staging (with spilling, a store write), so ask until it has moved.
        await RecoveryScenario.WaitForAsync(
            async () =>
            {
                if (await management.GetActivationAddress(task0) is { } s && !s.Equals(primary))
                {
                    return true;
                }

                await task0.MigrateAsync(victim.SiloAddress);
                await Task.Delay(500);
                return false;
            },
            TimeSpan.FromSeconds(60),
            "sink task 0 on a secondary silo");
        var host = await management.GetActivationAddress(task0);
        var hostHandle = cluster.Cluster.SecondarySilos.Single(s => s.SiloAddress.Equals(host));
        crash.Arm();
        var epoch = await crash.Reached.WaitAsync(TimeSpan.FromSeconds(90));
        output.WriteLine($"sink task 0 reached {step} of epoch {epoch} on {host}; crashing it");
        if (spill)
        {
            // The epoch about to be produced is in the checkpoint only as a reference to its blob.
            Assert.True(SpilledBlobs(pipelineId) > 0, "no spilled epoch in the checkpoint store");
        }

        await cluster.CrashSiloAsync(hostHandle);
        crash.Release();

        var coordinator = client.GetGrain<ICheckpointCoordinatorGrain>(pipelineId);
        await RecoveryScenario.WaitForAsync(async () => (await coordinator.GetRecoveryAsync()).RecoveryMilliseconds.Count > 0, TimeSpan.FromSeconds(90), "recovery (a checkpoint completed after the restart)");
        await producer.FinishAsync(endTimestamp: PacedProducer.TimestampOf(Records) + (5 * WindowSize), TimeSpan.FromSeconds(90));
        var expected = Oracle();
        await RecoveryScenario.WaitForAsync(() => Committed(kafka).Windows.Count >= expected.Count, TimeSpan.FromSeconds(120), $"{expected.Count} windows committed");

        var recovery = await coordinator.GetRecoveryAsync();
        output.WriteLine($"attempt {recovery.Attempt}, restarts {recovery.Restarts}, restored from {recovery.RestoredFrom}");
        var result = Committed(kafka);
        output.WriteLine($"{result.Windows.Count} windows in {result.Copies.Count} epochs; produced more than once: [{string.Join(", ", result.Copies.Where(c => c.Value > 1).Select(c => $"{c.Key}x{c.Value}"))}]");
        Assert.Equal(expected.OrderBy(e => e.Key).ToList(), result.Windows.OrderBy(e => e.Key).ToList());
        Assert.True(recovery.Restarts >= 1, "the crash should have restarted the pipeline");
        if (spill)
        {
            // Committed epochs' blobs are deleted; what is left belongs to epochs sealed but never committed.
            var left = SpilledBlobs(pipelineId);
            output.WriteLine($"spilled blobs left: {left}");
            Assert.True(left < result.Copies.Count, $"{left} spilled blobs left for {result.Copies.Count} committed epochs");
        }

        var twice = result.Copies.Where(c => c.Value > 1).Select(c => c.Key).ToList();
        if (step == KafkaTransactionStep.RecordsProduced)
        {
            // Only the cut transaction's epoch: its records stayed on the mock, and the restored task produced it whole again.
            Assert.True(twice.Count <= 1 && twice.All(k => k == ("0", epoch)), $"epochs produced twice: {string.Join(", ", twice)}");
        }
        else
        {
            // (a) nothing of the epoch was sent before the crash; (c) its marker was committed, so it is never produced again.
            Assert.Empty(twice);
        }
    }

    private int SpilledBlobs(string pipelineId) =>
        Directory.Exists(Path.Combine(_root, pipelineId, "kafka-spill")) ? Directory.GetFiles(Path.Combine(_root, pipelineId, "kafka-spill"), "*", SearchOption.AllDirectories).Length : 0;

    private static Pipeline Define(string id, EmbeddedKafka kafka, KafkaSink<string> sink)
    {
        var pipeline = Pipeline.Create(id, RecoveryScenario.Checkpointed);
        pipeline.FromKafka(Input, KafkaFormats.Json(KafkaTestJson.Default.Event), o =>
            {
                o.BootstrapServers = kafka.BootstrapServers;
                o.StopAtEndOffsets = false;
            })
            .WithTimestamps(e => e.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(100)))
            .KeyBy(e => e.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(WindowSize)))
            .Aggregate(Aggregates.Count<Event>(), (key, window, count) => string.Create(CultureInfo.InvariantCulture, $"{key}|{window.Start}|{count}"))
            .SinkTo(sink);
        return pipeline;
    }

    /// <summary>The brute-force count per (key, window start) of every record the producer writes.</summary>
    private static Dictionary<(string Key, long Start), long> Oracle() =>
        PacedProducer.Events(Records)
            .GroupBy(e => (e.Key, e.Ts - (e.Ts % WindowSize)))
            .ToDictionary(g => g.Key, g => (long)g.Count());

    /// <summary>
    /// The committed windows: per (task, epoch) every copy is whole and the epoch has a marker; one copy of each epoch
    /// taken; no window in two epochs.
    /// </summary>
    private static (Dictionary<(string Key, long Start), long> Windows, Dictionary<(string Task, long Epoch), int> Copies) Committed(EmbeddedKafka kafka)
    {
        var records = EpochLog.Read(kafka.BootstrapServers, EpochLog.Output, 2);
        var markers = EpochLog.Read(kafka.BootstrapServers, EpochLog.Markers, 1).Select(m => (m.Task, m.Epoch)).ToHashSet();
        var windows = new Dictionary<(string Key, long Start), long>();
        var copies = new Dictionary<(string Task, long Epoch), int>();
        foreach (var epoch in records.GroupBy(r => (r.Task!, r.Epoch)))
        {
            Assert.True(markers.Contains(epoch.Key), $"epoch {epoch.Key} has records but no commit marker");
            var values = epoch.Select(r => r.Value).ToList();
            var distinct = values.Distinct().ToList();
            copies[epoch.Key] = EpochLog.AssertCopiesOf(epoch.Key.Item2, distinct, values);
            foreach (var value in distinct)
            {
                var parts = value.Split('|');
                var window = (parts[0], long.Parse(parts[1], CultureInfo.InvariantCulture));
                Assert.True(windows.TryAdd(window, long.Parse(parts[2], CultureInfo.InvariantCulture)), $"window {window} committed in two epochs");
            }
        }

        return (windows, copies);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>
    /// Blocks sink task 0's transaction protocol at <paramref name="step"/> once armed, reports the epoch, and after the
    /// test crashed the silo fails the step (the thread is a silo's pool thread, not a grain's).
    /// </summary>
    private sealed class CrashPoint(KafkaTransactionStep step, string transactionalId) : IDisposable
    {
        private readonly TaskCompletionSource<long> _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _released = new();
        private int _armed;
        private int _committed;

        public int Committed => Volatile.Read(ref _committed);

        public Task<long> Reached => _reached.Task;

        public void Arm() => Volatile.Write(ref _armed, 1);

        public void Release() => _released.Set();

        public void Dispose()
        {
            _released.Set();
            _released.Dispose();
        }

        public void OnStep(KafkaTransactionStep reached, string id, long epoch)
        {
            if (id != transactionalId)
            {
                return;
            }

            if (reached == KafkaTransactionStep.Committed)
            {
                Interlocked.Increment(ref _committed);
            }

            if (reached == step && Interlocked.CompareExchange(ref _armed, 0, 1) == 1)
            {
                _reached.TrySetResult(epoch);
                _released.Wait(TimeSpan.FromMinutes(2));
                throw new InvalidOperationException($"injected: the silo died at {step} of epoch {epoch}");
            }
        }
    }
}
