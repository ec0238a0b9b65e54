using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.TestingHost;
using Sluice.Grains;
using Sluice.Sources;
using Sluice.Tests.Properties;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.Recovery;

/// <summary>
/// A key group blocked longer than a stream delivery may take (its sink stalls and the exchange backs up into it): the
/// source provider never gives a delivery up, and where a delivery is given up anyway (an operator shortened it), the
/// key group sees the gap and the pipeline restarts from its last checkpoint. Either way no window is lost.
/// </summary>
public sealed class StalledDeliveryTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-stalled-").FullName;

    [Fact]
    public async Task The_source_stream_provider_never_gives_a_delivery_up()
    {
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 1);
        var silo = cluster.Cluster.Silos.OfType<InProcessSiloHandle>().First();
        var agent = silo.SiloHost.Services.GetRequiredService<IOptionsMonitor<StreamPullingAgentOptions>>().Get(SourceStreams.ProviderName);
        Assert.Equal(Timeout.InfiniteTimeSpan, agent.MaxEventDeliveryTime);
    }

    [Fact]
    public async Task A_key_group_blocked_past_the_delivery_time_loses_no_window()
    {
        var input = new OutOfOrderEventFeed(seed: 17, partitions: 2);
        var sink = new CommittingSink<WindowResult>("committed", parallelism: 1);
        await using var cluster = await RecoveryScenario.StartAsync(_root, silos: 1, silo =>
        {
            // Short timeouts keep the test short; the agent gives a delivery up after 3 s, as the old default did after 1 min.
            silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(2));
            silo.Services.Configure<StreamPullingAgentOptions>(SourceStreams.ProviderName, o => o.MaxEventDeliveryTime = TimeSpan.FromSeconds(3));
        });
        cluster.Register(RecoveryScenario.Define("stalled", input.Source, sink, o => o.MaxParallelism = 2));
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>("stalled");
        await RecoveryScenario.AppendUntilAsync(input, async () => RecoveryScenario.Completed(await coordinator.GetHistoryAsync()) >= 2, "2 checkpoints before the stall");

        sink.BlockNextWrite(TimeSpan.FromSeconds(12));
        for (var i = 0; i < 40; i++)
        {
            input.Append(rounds: 1);
            await Task.Delay(100);
        }

        // Past the stall: more input, then the end, and everything committed.
        await Task.Delay(TimeSpan.FromSeconds(10));
        input.Append(rounds: 5);
        input.Source.CompleteAll();
        var expected = input.Oracle();
        var timedOut = false;
        try
        {
            await RecoveryScenario.WaitForAsync(() => sink.Committed().Count >= expected.Count, TimeSpan.FromSeconds(45), $"{expected.Count} committed window results");
        }
        catch (TimeoutException)
        {
            timedOut = true;
        }

        var recovery = await coordinator.GetRecoveryAsync();
        output.WriteLine($"attempt {recovery.Attempt}, restarts {recovery.Restarts} ({recovery.LastRestartReason}), {RecoveryScenario.Completed(await coordinator.GetHistoryAsync())} checkpoints completed, timed out: {timedOut}");
        RecoveryScenario.AssertEqualsOracleExactly(expected, sink.Committed(), output);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
