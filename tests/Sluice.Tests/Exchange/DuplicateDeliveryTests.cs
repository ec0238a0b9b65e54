using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Xunit.Abstractions;

namespace Sluice.Tests.Exchange;

/// <summary>
/// Exchange deliveries that are delayed and duplicated on the receiving grain (an incoming grain call filter
/// invokes DeliverAsync twice): every copy is dropped by sequence number, so a two-stage pipeline still
/// matches the oracle, and the stages report exactly the injected copies as dropped duplicates.
/// </summary>
public sealed class DuplicateDeliveryTests(DuplicatingExchangeCluster fixture, ITestOutputHelper output) : IClassFixture<DuplicatingExchangeCluster>
{
    [Fact]
    public async Task Delayed_and_duplicated_deliveries_still_match_the_oracle_and_every_copy_is_dropped()
    {
        foreach (var seed in PropertySeeds.For(6))
        {
            var pipeline = TwoStagePipeline.Random(seed, "dup");
            output.WriteLine(pipeline.ToString());
            await pipeline.RunAsync(fixture.Cluster, TimeSpan.FromSeconds(90));
            pipeline.AssertMatchesOracle();
            await ExchangeAssertions.AllInjectedCopiesDroppedAsync(fixture.Cluster, fixture.Faults, pipeline);
        }

        Assert.True(fixture.Faults.TotalExtraDeliveries > 0, "No delivery was duplicated: the filter never ran, so the test proved nothing.");
    }
}
