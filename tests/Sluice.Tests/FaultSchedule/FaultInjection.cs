using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Sluice.Storage;
using Sluice.Tests.Exchange;
using Sluice.Tests.Infrastructure;

namespace Sluice.Tests.FaultSchedule;

/// <summary>
/// The faults in force on one test cluster, shared by its silos (they run in the test process): which silos are
/// crashed, and until when exchange deliveries are duplicated or delayed and the checkpoint store is slow or failing.
/// Random draws come from the schedule's seed.
/// </summary>
internal sealed class FaultInjection(int seed)
{
    private readonly Random _random = new(seed);
    private readonly LastingFault _duplicate = new();
    private readonly LastingFault _delay = new();
    private readonly LastingFault _slowStore = new();
    private readonly LastingFault _failingStore = new();
    private readonly LastingFault _slowSource = new();
    private readonly LastingFault _drop = new();
    private int _duplicates;
    private int _storeFailures;
    private int _dropped;

    public int Duplicates => _duplicates;

    public int StoreFailures => _storeFailures;

    /// <summary>Grain calls dropped on their way out, or whose answer was lost on the way back.</summary>
    public int Dropped => _dropped;

    public bool IsCrashed(SiloAddress silo) => SiloCrashes.IsCrashed(silo);

    /// <summary>From now on every grain call into or out of <paramref name="silo"/> fails, as if its process had died.</summary>
    public void Crash(SiloAddress silo) => SiloCrashes.Crash(silo);

    public void DuplicateDeliveriesFor(TimeSpan duration) => _duplicate.For(duration);

    public void DelayDeliveriesFor(TimeSpan duration) => _delay.For(duration);

    public void SlowStoreFor(TimeSpan duration) => _slowStore.For(duration);

    public void FailStoreWritesFor(TimeSpan duration) => _failingStore.For(duration);

    public void SlowSourceFor(TimeSpan duration) => _slowSource.For(duration);

    public void DropMessagesFor(TimeSpan duration) => _drop.For(duration);

    /// <summary>Ends every lasting fault (crashed silos stay dead).</summary>
    public void Heal()
    {
        _duplicate.End();
        _delay.End();
        _slowStore.End();
        _failingStore.End();
        _slowSource.End();
        _drop.End();
    }

    public bool Duplicating => _duplicate.Active;

    public bool Delaying => _delay.Active;

    public bool StoreSlow => _slowStore.Active;

    public bool StoreFailing => _failingStore.Active;

    public bool SourceSlow => _slowSource.Active;

    public bool Dropping => _drop.Active;

    public void CountDropped() => Interlocked.Increment(ref _dropped);

    public void CountDuplicate() => Interlocked.Increment(ref _duplicates);

    public void CountStoreFailure() => Interlocked.Increment(ref _storeFailures);

    /// <summary>Random draws are shared by every grain of every silo, so they are serialised.</summary>
    public int Next(int maxExclusive)
    {
        lock (_random)
        {
            return _random.Next(maxExclusive);
        }
    }

    /// <summary>Adds the crash filter, the exchange faults and the checkpoint store decorator to a silo.</summary>
    public void Install(ISiloBuilder silo, string checkpointRoot)
    {
        silo.Services.AddSingleton(this);
        // As the Sluice host sets it (SiloClusteringOptions.DirectorySectionName): a crashed silo's grains are blocked
        // for the directory's range lease (Orleans' default 30 s), and the pipeline stalls that long.
        silo.Services.Configure<GrainDirectoryOptions>(o => o.RangeLeaseDuration = TimeSpan.FromSeconds(5));
        silo.AddIncomingGrainCallFilter<FaultyDeliveries>();
        silo.AddOutgoingGrainCallFilter<FaultyDeliveries>();
        silo.AddOutgoingGrainCallFilter<DroppedMessages>();
        // Registered after AddSluiceCheckpointStorage's TryAdd, so this one is what the engine resolves.
        silo.Services.AddSingleton<ICheckpointStore>(_ => new FaultyCheckpointStore(
            new FileSystemCheckpointStore(new FileSystemCheckpointStoreOptions { Root = checkpointRoot }), this));
    }

}

/// <summary>
/// Exchange faults while in force: on the receiver a delivery is held 0-40 ms, or run twice (one in four); on the sender
/// one delivery in six that succeeded is reported as timed out, so the sender resends it with the same sequence number.
/// </summary>
internal sealed class FaultyDeliveries(FaultInjection faults) : IIncomingGrainCallFilter, IOutgoingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        if (!ExchangeFaults.IsDelivery(context))
        {
            await context.Invoke();
            return;
        }

        if (faults.Delaying && faults.Next(41) is var delay and > 0)
        {
            await Task.Delay(delay);
        }

        var duplicate = faults.Duplicating && faults.Next(4) == 0;
        await context.Invoke();
        if (duplicate)
        {
            faults.CountDuplicate();
            await context.Invoke();
        }
    }

    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        await context.Invoke();
        if (ExchangeFaults.IsDelivery(context) && faults.Duplicating && faults.Next(6) == 0)
        {
            faults.CountDuplicate();
            throw new TimeoutException("injected: the batch was delivered but the sender sees a timeout");
        }
    }
}

/// <summary>
/// Lost messages while in force, for the engine's own grain calls between silos (exchange deliveries, the checkpoint
/// protocol, restarts, commits, reports; not the test's calls): one delivery in six and one other call in twelve never
/// arrive, and one other call in twelve arrives but its answer is lost. Callers see a failure either way.
/// </summary>
internal sealed class DroppedMessages(FaultInjection faults) : IOutgoingGrainCallFilter
{
    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        if (!faults.Dropping || context.InterfaceMethod?.DeclaringType?.Namespace?.StartsWith("Sluice", StringComparison.Ordinal) != true)
        {
            await context.Invoke();
            return;
        }

        var draw = faults.Next(12);
        if (ExchangeFaults.IsDelivery(context) ? draw < 2 : draw == 0)
        {
            faults.CountDropped();
            throw new TimeoutException($"injected: {context.InterfaceMethod.Name} was lost on its way");
        }

        await context.Invoke();
        if (!ExchangeFaults.IsDelivery(context) && draw == 1)
        {
            faults.CountDropped();
            throw new TimeoutException($"injected: the answer to {context.InterfaceMethod.Name} was lost on its way back");
        }
    }
}

/// <summary>
/// The real file-system store behind faults: while slow, every call waits 20-300 ms first; while failing, writes of
/// checkpoints (task blobs and the _metadata commit) throw a <see cref="CheckpointStoreException"/>, as an outage would.
/// Reads keep working so a restore is not blocked forever by the outage.
/// </summary>
internal sealed class FaultyCheckpointStore(ICheckpointStore inner, FaultInjection faults) : ICheckpointStore
{
    public string Name => inner.Name;

    public async Task PutAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        await BeforeAsync(path, "put", write: true);
        await inner.PutAsync(path, data, cancellationToken);
    }

    public async Task<byte[]?> GetAsync(string path, CancellationToken cancellationToken = default)
    {
        await BeforeAsync(path, "get", write: false);
        return await inner.GetAsync(path, cancellationToken);
    }

    public async Task<bool> CommitAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        await BeforeAsync(path, "commit", write: true);
        return await inner.CommitAsync(path, data, cancellationToken);
    }

    public async Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        await BeforeAsync(prefix, "list", write: false);
        return await inner.ListAsync(prefix, cancellationToken);
    }

    public async Task DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        await BeforeAsync(path, "delete", write: false);
        await inner.DeleteAsync(path, cancellationToken);
    }

    public async Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        await BeforeAsync(path, "exists", write: false);
        return await inner.ExistsAsync(path, cancellationToken);
    }

    private async Task BeforeAsync(string path, string operation, bool write)
    {
        if (faults.StoreSlow)
        {
            await Task.Delay(20 + faults.Next(281));
        }

        if (write && faults.StoreFailing && path.Contains("/chk-", StringComparison.Ordinal))
        {
            faults.CountStoreFailure();
            throw new CheckpointStoreException(Name, operation, path, "injected: the store is unavailable");
        }
    }
}
