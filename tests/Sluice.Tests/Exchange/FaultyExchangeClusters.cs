using Sluice.Tests.Infrastructure;

namespace Sluice.Tests.Exchange;

/// <summary>Two silos whose exchange deliveries are delayed and sometimes invoked twice on the receiver.</summary>
public sealed class DuplicatingExchangeCluster() : ClusterFixture(2)
{
    public ExchangeFaults Faults { get; } = new(Random.Shared.Next());

    protected override Action<ISiloBuilder> ConfigureSilo => silo => silo.AddIncomingGrainCallFilter(new DelayAndDuplicateDeliveries(Faults));
}

/// <summary>Two silos whose senders sometimes see a timeout for a delivery that succeeded, and resend it.</summary>
public sealed class ResendingExchangeCluster() : ClusterFixture(2)
{
    public ExchangeFaults Faults { get; } = new(Random.Shared.Next());

    protected override Action<ISiloBuilder> ConfigureSilo => silo => silo.AddOutgoingGrainCallFilter(new TimeOutAfterDelivery(Faults));
}
