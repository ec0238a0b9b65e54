using Sluice.Grains;
using Sluice.KeyGroups;
using Sluice.Pipelines;
using Sluice.Tests.Properties;
using Xunit.Abstractions;

namespace Sluice.Tests.Recovery;

/// <summary>Planned moves: key groups migrate to another silo with their state in memory, without a restart.</summary>
public sealed class MigrationTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-migration-").FullName;

    [Fact]
    public async Task Key_groups_migrated_mid_stream_keep_their_state_without_a_restart_and_the_output_equals_the_oracle_exactly()
    {
        var input = new OutOfOrderEventFeed(seed: 31, partitions: 4);
        var sink = new CommittingSink<WindowResult>("committed", parallelism: 2);
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 3);
        cluster.Register(RecoveryScenario.Define("migrated", input.Source, sink));
        var client = cluster.Cluster.Client;
        var coordinator = client.GetGrain<ICheckpointCoordinatorGrain>("migrated");
        await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 2, "2 checkpoints");

        // Move every key group of the window stage (stage 1) while records keep arriving.
        var management = client.GetGrain<IManagementGrain>(0);
        var keyGroups = Enumerable.Range(0, 8).Select(t => client.GetGrain<IKeyGroupGrain>(PipelinePlan.TaskKey("migrated", 1, t))).ToList();
        var before = await Task.WhenAll(keyGroups.Select(g => management.GetActivationAddress(g).AsTask()));
        var silos = cluster.Cluster.GetActiveSilos().Select(s => s.SiloAddress).ToList();
        for (var i = 0; i < keyGroups.Count; i++)
        {
            await keyGroups[i].MigrateAsync(silos.First(s => !s.Equals(before[i])));
            input.Append(rounds: 1);
        }

        var moved = 0;
        await RecoveryScenario.AppendUntilAsync(
            input,
            async () =>
            {
                var after = await Task.WhenAll(keyGroups.Select(g => management.GetActivationAddress(g).AsTask()));
                moved = after.Where((silo, i) => silo is not null && !silo.Equals(before[i])).Count();
                return moved == keyGroups.Count;
            },
            "every key group on another silo");

        input.Append(rounds: 5);
        input.Source.CompleteAll();
        var expected = input.Oracle();
        await RecoveryScenario.WaitForAsync(() => sink.Committed().Count >= expected.Count, TimeSpan.FromSeconds(60), $"{expected.Count} committed window results");
        var recovery = await coordinator.GetRecoveryAsync();
        output.WriteLine($"{moved} key groups moved; attempt {recovery.Attempt}, restarts {recovery.Restarts} ({recovery.LastRestartReason ?? "-"})");

        RecoveryScenario.AssertEqualsOracleExactly(expected, sink.Committed(), output);
        Assert.Equal(0, recovery.Restarts);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
