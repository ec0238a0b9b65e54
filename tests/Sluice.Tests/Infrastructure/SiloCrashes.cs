using System.Collections.Concurrent;

namespace Sluice.Tests.Infrastructure;

/// <summary>
/// Silos of the test clusters that have crashed: every grain call into or out of one fails, as if its process had died.
/// TestCluster's in-process kill still runs parts of the silo's shutdown path (stream agents stopping, grains deactivating),
/// which would hand source partitions over and migrate key groups gracefully: a crash test that only kills may then see
/// no failure at all. Marking the silo crashed first makes the kill a crash. Every <see cref="SluiceCluster"/> silo has the
/// filter; silo addresses are unique per process, so one table serves all clusters.
/// </summary>
internal static class SiloCrashes
{
    private static readonly ConcurrentDictionary<SiloAddress, bool> Crashed = new();

    public static bool IsCrashed(SiloAddress silo) => Crashed.ContainsKey(silo);

    public static void Crash(SiloAddress silo) => Crashed[silo] = true;

    public static void AddCrashFilter(this ISiloBuilder silo)
    {
        silo.AddIncomingGrainCallFilter<CrashedSiloFilter>();
        silo.AddOutgoingGrainCallFilter<CrashedSiloFilter>();
    }

    private sealed class CrashedSiloFilter(ILocalSiloDetails silo) : IIncomingGrainCallFilter, IOutgoingGrainCallFilter
    {
        public Task Invoke(IIncomingGrainCallContext context) =>
            IsCrashed(silo.SiloAddress) ? Task.FromException(Crashed()) : context.Invoke();

        public Task Invoke(IOutgoingGrainCallContext context) =>
            IsCrashed(silo.SiloAddress) ? Task.FromException(Crashed()) : context.Invoke();

        private SiloUnavailableException Crashed() => new($"injected: silo {silo.SiloAddress} has crashed");
    }
}
