using System.Collections.Concurrent;
using Sluice.Checkpointing;
using Sluice.Grains;
using Sluice.Tests.Properties;
using Xunit.Abstractions;

namespace Sluice.Tests.Recovery;

/// <summary>
/// A key group resetting to a new attempt builds its chain afresh, joins the attempt, then restores the checkpoint.
/// When the join fails (the coordinator unreachable for a moment), the task must not go on with the empty state it
/// built: it processes nothing of the new attempt until it has joined and restored, and then the committed output
/// equals the oracle exactly.
/// </summary>
public sealed class LostJoinTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-lost-join-").FullName;

    [Fact]
    public async Task A_key_group_whose_join_to_the_new_attempt_fails_restores_before_it_processes_and_the_output_equals_the_oracle_exactly()
    {
        var input = new OutOfOrderEventFeed(seed: 53, partitions: 4);
        var sink = new CommittingSink<WindowResult>("committed", parallelism: 2);
        var failJoins = new FailResetJoins();
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 2, silo => silo.AddIncomingGrainCallFilter(failJoins));
        cluster.Register(RecoveryScenario.Define("lost-join", input.Source, sink));
        var client = cluster.Cluster.Client;
        var coordinator = client.GetGrain<ICheckpointCoordinatorGrain>("lost-join");
        await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 3, "3 checkpoints");

        // Restart the pipeline; every key group's first join to the new attempt fails.
        failJoins.Armed = true;
        var attempt = (await coordinator.GetRecoveryAsync()).Attempt;
        await client.GetGrain<ICheckpointProtocolGrain>("lost-join").ReportFailureAsync(attempt, TaskIdentity.OfTask(1, 0), "injected failure", RestoreFailure.None);
        var completedBefore = int.MaxValue;
        await RecoveryScenario.AppendUntilAsync(
            input,
            async () =>
            {
                var recovery = await coordinator.GetRecoveryAsync();
                var completed = RecoveryScenario.Completed(await coordinator.GetHistoryAsync());
                if (recovery.Attempt == attempt || failJoins.Failed == 0)
                {
                    return false;
                }

                completedBefore = Math.Min(completedBefore, completed);
                return completed >= completedBefore + 2;
            },
            "the restart, failed joins, then 2 checkpoints");

        input.Append(rounds: 5);
        input.Source.CompleteAll();
        var expected = input.Oracle();
        await RecoveryScenario.WaitForAsync(() => sink.Committed().Count >= expected.Count, TimeSpan.FromSeconds(60), $"{expected.Count} committed window results");
        var recovery = await coordinator.GetRecoveryAsync();
        output.WriteLine($"joins failed: {failJoins.Failed}; attempt {recovery.Attempt}, restarts {recovery.Restarts} ({recovery.LastRestartReason ?? "-"})");
        RecoveryScenario.AssertEqualsOracleExactly(expected, sink.Committed(), output);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Once armed, fails the first join of each key group that resets itself (not an activation).</summary>
    private sealed class FailResetJoins : IIncomingGrainCallFilter
    {
        private readonly ConcurrentDictionary<TaskIdentity, bool> _failed = new();

        public volatile bool Armed;

        public int Failed => _failed.Count;

        public Task Invoke(IIncomingGrainCallContext context)
        {
            if (Armed
                && context.InterfaceMethod?.Name == nameof(ICheckpointProtocolGrain.JoinAsync)
                && context.Request.GetArgument(0) is TaskIdentity { IsSource: false } identity
                && context.Request.GetArgument(1) is false
                && _failed.TryAdd(identity, true))
            {
                throw new TimeoutException($"{identity} could not reach the coordinator (injected)");
            }

            return context.Invoke();
        }
    }
}
