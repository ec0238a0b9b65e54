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

        // MigrateOnIdle is a request Orleans may drop (no idle moment, placement declined): ask again until each moved.
        var moved = 0;
        var requests = keyGroups.Count;
        var polls = 0;
        await RecoveryScenario.AppendUntilAsync(
            input,
            async () =>
            {
                var after = await Task.WhenAll(keyGroups.Select(g => management.GetActivationAddress(g).AsTask()));
                moved = 0;
                for (var i = 0; i < keyGroups.Count; i++)
                {
                    if (after[i] is { } now && !now.Equals(before[i]))
                    {
                        moved++;
                    }
                    else if (polls % 20 == 19)
                    {
                        // Not moved after ~2 s: ask again.
                        await keyGroups[i].MigrateAsync(silos.First(s => !s.Equals(before[i])));
                        requests++;
                    }
                }

                polls++;
                // Orleans sometimes declines a move for a long while; after ~20 s, the ones that moved are the test.
                return moved == keyGroups.Count || (polls > 200 && moved > 0);
            },
            "key groups on another silo");
        output.WriteLine($"{requests} migration requests for {keyGroups.Count} key groups; {moved} moved");
        Assert.True(moved > 0, "no key group moved");

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
