using Sluice.Grains;
using Sluice.Tests.Properties;
using Xunit.Abstractions;

namespace Sluice.Tests.Recovery;

/// <summary>
/// A pipeline restored with fewer sink tasks than its checkpoint holds: the tasks that no longer exist had epochs whose
/// checkpoint completed but whose commit had not happened (commits were failing when the first cluster stopped). The
/// sources resume after those epochs, so unless the remaining tasks take them over and commit them, their records are
/// lost. The committed output of both runs must equal the oracle exactly.
/// </summary>
public sealed class SinkRescaleTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-sink-rescale-").FullName;

    [Theory]
    [InlineData(3, 1)]
    [InlineData(5, 2)]
    public async Task Pending_epochs_of_sink_tasks_removed_by_a_lower_parallelism_are_committed_by_the_remaining_tasks(int before, int after)
    {
        const string id = "sink-rescale";
        var input = new OutOfOrderEventFeed(seed: 17 + before, partitions: 3);
        var sink = new CommittingSink<WindowResult>("committed", before);
        await using (var first = await RecoveryScenario.StartAsync(_root, 1))
        {
            first.Register(RecoveryScenario.Define(id, input.Source, sink));
            var coordinator = first.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>(id);
            await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 2, "2 checkpoints");

            // From here on commits fail: checkpoints still complete, and their epochs stay pending in the sink tasks' state.
            sink.FailCommitsFor(TimeSpan.FromMinutes(5));
            var failingFrom = (await coordinator.GetHistoryAsync()).Where(c => c.State == CheckpointState.Completed).Max(c => c.Id);
            await RecoveryScenario.AppendUntilAsync(
                input,
                async () => (await coordinator.GetHistoryAsync()).Count(c => c.State == CheckpointState.Completed && c.Id > failingFrom) >= 2
                    && sink.PreparedNotCommitted.Any(e => e.Task >= after),
                "2 checkpoints with failing commits and a pending epoch of a task the second run will not have");
            output.WriteLine($"first run stops with {sink.PreparedNotCommitted.Count()} prepared epochs not committed: "
                + string.Join(" ", sink.PreparedNotCommitted.Order().Select(e => $"{e.Task}/{e.Checkpoint}")));
        }

        sink.Heal();
        var rescaled = sink.Rescaled(after);
        await using var second = await RecoveryScenario.StartAsync(_root, 1);
        second.Register(RecoveryScenario.Define(id, input.Source, rescaled));
        input.Append(rounds: 5);
        input.Source.CompleteAll();
        var expected = input.Oracle();
        await RecoveryScenario.WaitForAsync(
            () => rescaled.Committed().Select(r => (r.Key, r.Start, r.End)).ToHashSet().IsSupersetOf(expected.Keys), TimeSpan.FromSeconds(60), "every window committed");
        await Task.Delay(500); // room for a duplicate to show up

        var recovery = await second.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>(id).GetRecoveryAsync();
        output.WriteLine($"second run ({after} sink tasks) restored from checkpoint {recovery.RestoredFrom}; attempt {recovery.Attempt}, restarts {recovery.Restarts}");
        Assert.True(recovery.RestoredFrom > 0, "the second run should restore the first run's checkpoint");
        RecoveryScenario.AssertEqualsOracleExactly(expected, rescaled.Committed(), output);
        var lost = rescaled.PreparedNotCommitted.Where(e => e.Checkpoint <= recovery.RestoredFrom).Order().ToList();
        Assert.True(lost.Count == 0, $"epochs the restored checkpoint holds were never committed: {string.Join(" ", lost.Select(e => $"{e.Task}/{e.Checkpoint}"))}");
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
