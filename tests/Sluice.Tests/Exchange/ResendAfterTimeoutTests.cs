using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Xunit.Abstractions;

namespace Sluice.Tests.Exchange;

/// <summary>
/// Senders that see a timeout for a delivery that in fact arrived (an outgoing grain call filter throws after
/// the call succeeded) resend the batch with the same sequence number; the receiver drops the copy, so a
/// two-stage pipeline still matches the oracle and the stages report one dropped duplicate per injected timeout.
/// </summary>
public sealed class ResendAfterTimeoutTests(ResendingExchangeCluster fixture, ITestOutputHelper output) : IClassFixture<ResendingExchangeCluster>
{
    [Fact]
    public async Task Resends_after_a_timeout_still_match_the_oracle_and_every_resend_is_dropped()
    {
        foreach (var seed in PropertySeeds.For(6))
        {
            var pipeline = TwoStagePipeline.Random(seed, "resend");
            output.WriteLine(pipeline.ToString());
            await pipeline.RunAsync(fixture.Cluster, TimeSpan.FromSeconds(90));
            pipeline.AssertMatchesOracle();
            await ExchangeAssertions.AllInjectedCopiesDroppedAsync(fixture.Cluster, fixture.Faults, pipeline);
        }

        Assert.True(fixture.Faults.TotalExtraDeliveries > 0, "No timeout was injected: the filter never ran, so the test proved nothing.");
    }
}
