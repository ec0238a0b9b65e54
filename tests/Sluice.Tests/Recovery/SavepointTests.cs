using Sluice.Grains;
using Sluice.Sinks;
using Sluice.Tests.Properties;
using Xunit.Abstractions;

namespace Sluice.Tests.Recovery;

/// <summary>Savepoints taken on demand, kept through retention, and a new run started from one by name.</summary>
public sealed class SavepointTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-savepoints-").FullName;

    [Fact]
    public async Task A_savepoint_outlives_retention_and_a_new_run_starts_from_it_with_results_equal_to_the_oracle()
    {
        var input = new OutOfOrderEventFeed(seed: 17, partitions: 3);
        var first = new CollectingSink<WindowResult>("first");
        SavepointInfo savepoint;
        await using (var cluster = await RecoveryScenario.StartAsync(_root, silos: 1))
        {
            cluster.Register(RecoveryScenario.Define("saved", input.Source, first, o => o.RetainedCheckpoints = 2));
            var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("saved");
            await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 2, "2 checkpoints");

            await coordinator.TriggerSavepointAsync("before-upgrade");
            await Assert.ThrowsAsync<ArgumentException>(() => coordinator.TriggerSavepointAsync("before-upgrade"));
            await Assert.ThrowsAsync<ArgumentException>(() => coordinator.TriggerSavepointAsync("not/a name"));
            await RecoveryScenario.AppendUntilAsync(input, async () => (await coordinator.GetSavepointsAsync()).Any(s => s.State == CheckpointState.Completed), "the savepoint");
            savepoint = (await coordinator.GetSavepointsAsync()).Single(s => s.State == CheckpointState.Completed);

            // Enough checkpoints after it that retention deletes the checkpoint the savepoint was taken as.
            await RecoveryScenario.AppendUntilAsync(input, async () => (await coordinator.GetHistoryAsync()).Count(c => c.State == CheckpointState.Completed && c.Id > savepoint.CheckpointId + 2) >= 2, "checkpoints after the savepoint");
            output.WriteLine($"savepoint {savepoint.Name} = checkpoint {savepoint.CheckpointId}, {savepoint.Bytes} bytes");
        }

        Assert.False(File.Exists(Path.Combine(_root, "saved", $"chk-{savepoint.CheckpointId}", "_metadata")), "retention should have deleted the checkpoint itself");
        Assert.True(File.Exists(Path.Combine(_root, "saved", "savepoints", "before-upgrade", "_metadata")), "the savepoint is never deleted automatically");

        var second = new CollectingSink<WindowResult>("second");
        await using (var cluster = await RecoveryScenario.StartAsync(_root, silos: 1))
        {
            cluster.Register(RecoveryScenario.Define("saved", input.Source, second, o => o.StartFromSavepoint = "before-upgrade"));
            input.Append(rounds: 10);
            input.Source.CompleteAll();
            await second.Completion.WaitAsync(TimeSpan.FromSeconds(60));
            var recovery = await cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("saved").GetRecoveryAsync();
            output.WriteLine($"second run: attempt {recovery.Attempt} restored from {recovery.RestoredFrom}");
            Assert.Equal(savepoint.CheckpointId, recovery.RestoredFrom);
        }

        // The second run replays from the savepoint, so it emits windows the first emitted too; each must be right.
        RecoveryScenario.AssertRightAndComplete(input.Oracle(), second.Values, first.Values.Concat(second.Values));
        var replayed = second.Values.Count(r => first.Values.Contains(r));
        output.WriteLine($"first run {first.Count} results, second {second.Count} ({replayed} replayed from the savepoint)");
        Assert.True(replayed > 0, "the second run should restart from the savepoint, before where the first run stopped");
    }

    [Fact]
    public async Task Starting_from_a_savepoint_that_does_not_exist_is_FAILED_naming_it()
    {
        var input = new OutOfOrderEventFeed(seed: 3, partitions: 2);
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 1);
        cluster.Register(RecoveryScenario.Define("unsaved", input.Source, new CollectingSink<WindowResult>("out"), o => o.StartFromSavepoint = "nowhere"));
        input.Append(rounds: 2);
        var status = await cluster.WaitForStatusAsync("unsaved", s => s.State == PipelineState.Failed, TimeSpan.FromSeconds(30), "FAILED");
        Assert.Contains("'nowhere'", status.Recovery!.FailureReason, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
