using Sluice.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Sluice.Tests.Properties;

/// <summary>
/// A window stage feeding a second window stage across two silos: per-key counts re-keyed by window end
/// and summarised per window (total and top three keys) must equal the oracle's, on random streams.
/// </summary>
public sealed class TwoStagePipelineTests(TwoSiloCluster fixture, ITestOutputHelper output) : IClassFixture<TwoSiloCluster>
{
    [Fact]
    public async Task Window_results_rekeyed_into_a_second_window_stage_match_the_oracle_across_two_silos()
    {
        foreach (var seed in PropertySeeds.For(10))
        {
            var pipeline = TwoStagePipeline.Random(seed, "two-stage");
            output.WriteLine(pipeline.ToString());
            await pipeline.RunAsync(fixture.Cluster, TimeSpan.FromSeconds(60));
            pipeline.AssertMatchesOracle();
        }
    }
}
