using System.Collections.Concurrent;

namespace Sluice.Tests.Exchange;

/// <summary>
/// Faults injected into exchange calls (<c>IKeyGroupGrain.DeliverAsync</c>), counted per pipeline so a test
/// can check that the receivers dropped exactly the copies that were injected. Task grain keys are
/// "{pipeline}/{stage}/{task}", which is how a call is traced back to its pipeline.
/// </summary>
public sealed class ExchangeFaults
{
    public const string DeliverMethod = "DeliverAsync";

    private readonly ConcurrentDictionary<string, long> _extraDeliveries = new();
    private readonly Random _random;

    public ExchangeFaults(int seed) => _random = new Random(seed);

    /// <summary>Copies of a batch delivered beyond the first: each must be dropped as a duplicate.</summary>
    public long ExtraDeliveries(string pipelineId) => _extraDeliveries.GetValueOrDefault(pipelineId);

    public long TotalExtraDeliveries => _extraDeliveries.Values.Sum();

    public static bool IsDelivery(IGrainCallContext context) => context.InterfaceMethod?.Name == DeliverMethod;

    public void CountExtraDelivery(GrainId target) => _extraDeliveries.AddOrUpdate(PipelineOf(target), 1, (_, n) => n + 1);

    /// <summary>Random draws are shared by every grain of every silo, so they are serialised.</summary>
    public int Next(int maxExclusive)
    {
        lock (_random)
        {
            return _random.Next(maxExclusive);
        }
    }

    private static string PipelineOf(GrainId target)
    {
        var key = target.Key.ToString()!;
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? key : key[..slash];
    }
}

/// <summary>
/// Receiver side: delays each delivery by 0-20 ms (the grain is busy meanwhile, so the sender's queue grows)
/// and invokes one in four deliveries twice, as a network redelivery would.
/// </summary>
public sealed class DelayAndDuplicateDeliveries(ExchangeFaults faults) : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (!ExchangeFaults.IsDelivery(context))
        {
            await context.Invoke();
            return;
        }

        var delay = faults.Next(21);
        var duplicate = faults.Next(4) == 0;
        if (delay > 0)
        {
            await Task.Delay(delay);
        }

        await context.Invoke();
        if (duplicate)
        {
            faults.CountExtraDelivery(context.TargetId);
            await context.Invoke();
        }
    }
}

/// <summary>
/// Sender side: after one in five deliveries has succeeded, reports a timeout anyway, so the sender resends
/// the batch with the same sequence number and the receiver sees it twice.
/// </summary>
public sealed class TimeOutAfterDelivery(ExchangeFaults faults) : IOutgoingGrainCallFilter
{
    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        await context.Invoke();
        if (ExchangeFaults.IsDelivery(context) && faults.Next(5) == 0)
        {
            faults.CountExtraDelivery(context.TargetId);
            throw new TimeoutException("Injected by the test: the batch was delivered but the sender sees a timeout.");
        }
    }
}
