using Microsoft.Extensions.DependencyInjection;
using Sluice.Checkpointing;
using Sluice.Grains;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Tests.Properties;
using Xunit.Abstractions;

namespace Sluice.Tests.Recovery;

/// <summary>
/// A source partition taken over from its previous owner whose answer is lost on the way back (the coordinator handed
/// the handover out, the caller saw a failure, e.g. a timeout or the coordinator moving) must get the same handover
/// when it asks again: read from the checkpoint instead, it would process again what the previous owner already did,
/// and with a plain sink the output would count those records twice.
/// </summary>
public sealed class LostTakeoverAnswerTests(ITestOutputHelper output) : IDisposable
{
    private const int Queues = 16;
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-lost-takeover-").FullName;

    [Fact]
    public async Task A_takeover_whose_answer_was_lost_gets_the_same_handover_again_and_the_output_equals_the_oracle_exactly()
    {
        var input = new OutOfOrderEventFeed(seed: 47, partitions: Queues);
        var sink = new CollectingSink<WindowResult>("sums", parallelism: 2);
        var lose = new LoseHandoverAnswers();
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 1, silo =>
        {
            silo.Services.Configure<SourceProviderOptions>(SourceStreams.ProviderName, o => o.QueueCount = Queues);
            silo.AddIncomingGrainCallFilter(lose);
        });
        cluster.Register(RecoveryScenario.Define("lost-answer", input.Source, sink));
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("lost-answer");
        await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 2, "2 checkpoints");

        // The joining silo takes about half of the queues over; the first answer carrying a handover never arrives.
        await cluster.StartSiloAsync();
        var completedBefore = 0;
        await RecoveryScenario.AppendUntilAsync(
            input,
            async () =>
            {
                var recovery = await coordinator.GetRecoveryAsync();
                var completed = RecoveryScenario.Completed(await coordinator.GetHistoryAsync());
                if (lose.Lost == 0 || recovery.SourceHandovers < 2)
                {
                    completedBefore = completed;
                }

                return lose.Lost > 0 && recovery.SourceHandovers >= 2 && completed >= completedBefore + 2;
            },
            "a lost takeover answer, more handovers, then 2 checkpoints");

        input.Append(rounds: 5);
        input.Source.CompleteAll();
        var expected = input.Oracle();
        await RecoveryScenario.WaitForAsync(() => sink.Values.Count >= expected.Count, TimeSpan.FromSeconds(60), $"{expected.Count} window results");
        var recovery = await coordinator.GetRecoveryAsync();
        output.WriteLine($"answers lost: {lose.Lost}; attempt {recovery.Attempt}, restarts {recovery.Restarts} ({recovery.LastRestartReason ?? "-"}), {recovery.SourceHandovers} handovers");
        RecoveryScenario.AssertEqualsOracleExactly(expected, [.. sink.Values], output);
        Assert.Equal(0, recovery.Restarts);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>The coordinator takes the first handover out, then its caller sees a failure instead of the answer.</summary>
    private sealed class LoseHandoverAnswers : IIncomingGrainCallFilter
    {
        private int _lost;

        public int Lost => Volatile.Read(ref _lost);

        public async Task Invoke(IIncomingGrainCallContext context)
        {
            await context.Invoke();
            if (context.InterfaceMethod?.Name == nameof(ICheckpointProtocolGrain.TakeOverSourceAsync)
                && context.Result is SourceTakeover { Handover: not null }
                && Interlocked.CompareExchange(ref _lost, 1, 0) == 0)
            {
                throw new TimeoutException("the takeover's answer was lost on its way back (injected)");
            }
        }
    }
}
