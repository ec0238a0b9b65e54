using System.Globalization;

namespace Sluice.Tests.FaultSchedule;

/// <summary>The faults a schedule draws from; the names in <see cref="FaultKinds"/> are what SLUICE_FAULT_EXCLUDE takes.</summary>
public enum FaultKind
{
    /// <summary>A secondary silo stops answering and calling (every grain call fails), then is killed without a graceful stop.</summary>
    Crash,

    /// <summary>A secondary silo shuts down gracefully: partitions are handed over, key groups migrate.</summary>
    Stop,

    /// <summary>A silo joins the cluster and takes source partitions over.</summary>
    Join,

    /// <summary>A few key groups (window or sink stage) or the coordinator are asked to migrate to another silo.</summary>
    Migrate,

    /// <summary>Sink staging (the asynchronous part of a prepare) takes 100-800 ms for a while.</summary>
    SlowStaging,

    /// <summary>Every sink prepare throws for a while.</summary>
    FailingPrepare,

    /// <summary>Every sink commit throws for a while (the epochs stay pending and are committed later).</summary>
    FailingCommit,

    /// <summary>Sink commits take 100-500 ms for a while.</summary>
    SlowCommit,

    /// <summary>Every checkpoint store call waits 20-300 ms for a while.</summary>
    SlowStore,

    /// <summary>Checkpoint store writes (task blobs and _metadata) throw for a while.</summary>
    FailingStore,

    /// <summary>Exchange deliveries are run twice on the receiver or reported as timed out after success (and resent).</summary>
    DuplicateExchange,

    /// <summary>Exchange deliveries are held 0-40 ms on the receiver for a while.</summary>
    DelayExchange,

    /// <summary>The source reads a few records at a time, often none, for a while (a slow broker).</summary>
    SlowSource,

    /// <summary>The engine's grain calls are lost on their way, or their answers on the way back, now and then for a while.</summary>
    DropMessages,
}

/// <summary>Parsing and naming of <see cref="FaultKind"/>s.</summary>
public static class FaultKinds
{
    public static IReadOnlyList<FaultKind> All { get; } = Enum.GetValues<FaultKind>();

    /// <summary>Faults that change the cluster's silos; the schedule runs these one at a time.</summary>
    public static bool ChangesSilos(FaultKind kind) => kind is FaultKind.Crash or FaultKind.Stop or FaultKind.Join;

    /// <summary>Faults that last for <see cref="ScheduledFault.DurationMs"/> and then heal by themselves.</summary>
    public static bool Lasts(FaultKind kind) => !ChangesSilos(kind) && kind != FaultKind.Migrate;

    /// <summary>"crash, failingstore" (names case-insensitive, ',' or ' ' separated); unknown names throw.</summary>
    public static HashSet<FaultKind> Parse(string? list)
    {
        var kinds = new HashSet<FaultKind>();
        foreach (var name in (list ?? "").Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Enum.TryParse<FaultKind>(name.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var kind))
            {
                throw new ArgumentException($"unknown fault kind '{name}'; known: {string.Join(", ", All)}");
            }

            kinds.Add(kind);
        }

        return kinds;
    }
}

/// <summary>One fault: what, when (ms after the fault phase began), for how long, and a draw that picks its silo or key groups.</summary>
public sealed record ScheduledFault(int AtMs, FaultKind Kind, int DurationMs, int Pick)
{
    public override string ToString() =>
        FaultKinds.Lasts(Kind)
            ? string.Create(CultureInfo.InvariantCulture, $"+{AtMs / 1000.0:0.00}s {Kind} for {DurationMs} ms")
            : string.Create(CultureInfo.InvariantCulture, $"+{AtMs / 1000.0:0.00}s {Kind}");
}

/// <summary>
/// A fault schedule, a pure function of its seed (and the excluded kinds): the cluster's size, the window, the input's
/// seed and the faults with their times. Running it is not deterministic (thread timing), so a replay reproduces the
/// faults and the input, not every interleaving.
/// </summary>
public sealed record FaultSchedule(int Seed, int Silos, FaultStage Stage, bool FileSink, int PhaseMs, IReadOnlyList<ScheduledFault> Faults)
{
    public const int DefaultPhaseMs = 4_000;

    public static FaultSchedule Generate(int seed, IReadOnlySet<FaultKind>? excluded = null)
    {
        var random = new Random(Mix(seed));
        var kinds = FaultKinds.All.Where(k => excluded?.Contains(k) != true).ToArray();
        var silos = random.Next(1, 4);
        var sliding = random.Next(3) == 0;
        var fileSink = random.Next(4) != 0;
        var faults = new List<ScheduledFault>();
        var count = kinds.Length == 0 ? 0 : random.Next(3, 6);
        for (var i = 0; i < count; i++)
        {
            var kind = kinds[random.Next(kinds.Length)];
            faults.Add(new ScheduledFault(random.Next(200, DefaultPhaseMs - 600), kind, random.Next(400, 2_000), random.Next()));
        }

        faults.Sort((a, b) => a.AtMs.CompareTo(b.AtMs));
        // Drawn last, so the draws above (and the fixed seeds chosen for them) are what they were before this choice.
        var process = random.Next(3) == 0;
        var join = random.Next(3) == 0; // drawn after the others for the same reason
        // Sessions and count windows take half of what would be tumbling windows, drawn last for the same reason.
        var other = random.Next(4);
        var joinKind = random.Next(3); // which join, drawn last for the same reason
        var stage = sliding ? FaultStage.SlidingWindow
            : process ? FaultStage.ProcessFunction
            : join ? (joinKind == 0 ? FaultStage.WindowJoin : joinKind == 1 ? FaultStage.RegularJoin : FaultStage.IntervalJoin)
            : other == 0 ? FaultStage.SessionWindow
            : other == 1 ? FaultStage.CountWindow
            : FaultStage.TumblingWindow;
        return new FaultSchedule(seed, silos, stage, fileSink, DefaultPhaseMs, faults);
    }

    /// <summary>
    /// Spreads consecutive seeds apart (SplitMix64's finaliser): a soak counts seeds up, and <see cref="Random"/> seeded
    /// with neighbours draws similar first values, which skewed the kinds a soak drew.
    /// </summary>
    private static int Mix(int seed)
    {
        var z = (ulong)seed + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)((z ^ (z >> 31)) & int.MaxValue);
    }

    public string Describe() =>
        $"seed {Seed}: {Silos} silo(s), {StageName}, {(FileSink ? "file sink" : "committing sink")}, faults: "
        + (Faults.Count == 0 ? "none" : string.Join("; ", Faults));

    public string StageName => Stage switch
    {
        FaultStage.SlidingWindow => "sliding 100/50 ms windows",
        FaultStage.ProcessFunction => "100 ms buckets in a keyed process function",
        FaultStage.IntervalJoin => "an interval join (-20, +20 ms) of odd and even values, then tumbling 100 ms sums of the pairs",
        FaultStage.WindowJoin => "a 30 ms tumbling window join of odd and even values, then tumbling 100 ms sums of the pairs",
        FaultStage.RegularJoin => "a regular join of odd and even values (state under a 1-day event-time TTL), then 100 ms sums of the pairs",
        FaultStage.SessionWindow => "session windows with a 4-10 ms dynamic gap",
        FaultStage.CountWindow => "sliding count windows (6, 3) with an evictor and per-key firing numbers in global state",
        _ => "tumbling 100 ms windows",
    };

    /// <summary>The command that runs this schedule again (with the same excluded kinds, which change what a seed draws).</summary>
    public string ReplayCommand(IReadOnlySet<FaultKind> excluded) =>
        (excluded.Count == 0 ? "" : $"SLUICE_FAULT_EXCLUDE={string.Join(",", excluded.Order())} ")
        + $"SLUICE_FAULT_SEED={Seed} dotnet test tests/Sluice.Tests --filter \"FullyQualifiedName~{nameof(FaultScheduleTests)}\"";
}

/// <summary>The keyed stage a schedule runs: a window operator, or keyed state and timers of a process function.</summary>
public enum FaultStage
{
    TumblingWindow,
    SlidingWindow,
    ProcessFunction,
    IntervalJoin,
    SessionWindow,
    CountWindow,
    WindowJoin,
    RegularJoin,
}
