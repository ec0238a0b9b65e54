using System.Collections.Concurrent;
using Sluice.Checkpointing;
using Sluice.Grains;
using Sluice.Sinks;
using Sluice.Tests.Properties;
using Xunit.Abstractions;

namespace Sluice.Tests.Recovery;

/// <summary>
/// A task that stops processing its attempt (here: its checkpoint blob is corrupted) reports that to the coordinator,
/// which restarts the pipeline. When the report is lost, nothing else would restart it: the task must send it again
/// until it arrives, and the pipeline recovers as if the first report had arrived.
/// </summary>
public sealed class LostFailureReportTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-lost-report-").FullName;

    [Fact]
    public async Task A_lost_failure_report_is_sent_again_and_the_pipeline_still_restarts_from_the_checkpoint_before()
    {
        var input = new OutOfOrderEventFeed(seed: 59, partitions: 4);
        var first = new CollectingSink<WindowResult>("first");
        await using (var cluster = await RecoveryScenario.StartAsync(_root, silos: 1))
        {
            cluster.Register(RecoveryScenario.Define("lost-report", input.Source, first));
            var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("lost-report");
            await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 3, "3 checkpoints");
        }

        // Corrupt the task blobs of the newest complete checkpoint: every key group restoring it stops and reports.
        var newest = Directory.GetDirectories(Path.Combine(_root, "lost-report"), "chk-*")
            .Where(d => File.Exists(Path.Combine(d, "_metadata")))
            .Max(d => long.Parse(Path.GetFileName(d)["chk-".Length..], System.Globalization.CultureInfo.InvariantCulture));
        foreach (var blob in Directory.GetFiles(Path.Combine(_root, "lost-report", $"chk-{newest}")).Where(f => Path.GetFileName(f) != "_metadata"))
        {
            var bytes = await File.ReadAllBytesAsync(blob);
            bytes[^1] ^= 0x5A;
            await File.WriteAllBytesAsync(blob, bytes);
        }

        var lose = new LoseFirstTaskReports();
        var second = new CollectingSink<WindowResult>("second");
        await using (var cluster = await RecoveryScenario.StartAsync(_root, silos: 1, silo => silo.AddIncomingGrainCallFilter(lose)))
        {
            cluster.Register(RecoveryScenario.Define("lost-report", input.Source, second));
            input.Append(rounds: 10);
            input.Source.CompleteAll();
            await second.Completion.WaitAsync(TimeSpan.FromSeconds(60));
            var recovery = await cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("lost-report").GetRecoveryAsync();
            output.WriteLine($"corrupted checkpoint {newest}; {lose.Lost} reports lost; attempt {recovery.Attempt} restored from {recovery.RestoredFrom}: {recovery.LastRestartReason}");
            Assert.True(lose.Lost > 0, "a failure report should have been lost");
            Assert.True(recovery.RestoredFrom is > 0 && recovery.RestoredFrom < newest, $"should restore from a checkpoint before {newest}, restored from {recovery.RestoredFrom}");
        }

        var emitted = first.Values.Concat(second.Values).ToList();
        RecoveryScenario.AssertRightAndComplete(input.Oracle(), emitted, emitted);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Loses the first failure report of each key group on its way to the coordinator.</summary>
    private sealed class LoseFirstTaskReports : IIncomingGrainCallFilter
    {
        private readonly ConcurrentDictionary<TaskIdentity, bool> _lost = new();

        public int Lost => _lost.Count;

        public Task Invoke(IIncomingGrainCallContext context)
        {
            if (context.InterfaceMethod?.Name == nameof(ICheckpointProtocolGrain.ReportFailureAsync)
                && context.Request.GetArgument(1) is TaskIdentity { IsSource: false } identity
                && _lost.TryAdd(identity, true))
            {
                throw new TimeoutException($"the failure report of {identity} was lost (injected)");
            }

            return context.Invoke();
        }
    }
}
