using Sluice.Grains;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;

namespace Sluice.Tests.Exchange;

internal static class ExchangeAssertions
{
    /// <summary>
    /// The stages fed by the exchange (every stage after the first, which the source streams feed) must report
    /// exactly as many dropped duplicates as copies were injected for the pipeline. Both are read on every poll:
    /// reports arrive about once a second, and a copy can still be injected after the sink completed (the
    /// sender of the final batch only sees its injected timeout, and resends, after the sink has finished).
    /// </summary>
    public static async Task AllInjectedCopiesDroppedAsync(SluiceCluster cluster, ExchangeFaults faults, TwoStagePipeline pipeline)
    {
        await cluster.WaitForStatusAsync(
            pipeline.Id,
            s => DuplicatesDropped(s) == faults.ExtraDeliveries(pipeline.Id),
            TimeSpan.FromSeconds(30),
            $"reporting as many dropped duplicates as copies were injected ({faults.ExtraDeliveries(pipeline.Id)}) ({pipeline})");
    }

    private static long DuplicatesDropped(PipelineStatus status) => status.Stages.Skip(1).Sum(stage => stage.DuplicatesDropped);
}
