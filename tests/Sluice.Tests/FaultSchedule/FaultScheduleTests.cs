using Xunit.Abstractions;

namespace Sluice.Tests.FaultSchedule;

/// <summary>
/// The exactly-once promise under randomized fault schedules. Each schedule, generated from a seed
/// (<see cref="FaultSchedule.Generate"/>), runs a checkpointed keyed pipeline (source partitions -> KeyBy -> a tumbling,
/// sliding, session or count window, a keyed process function, or an interval join (<see cref="FaultStage"/>) -> the
/// exactly-once file sink, or for one schedule in four the in-memory transactional test sink) on
/// an in-process cluster of 1-3 silos (up to 4 after joins), appends input in rounds and injects 3-5 faults at random
/// times: silo crash (every grain call into or out of the silo fails, then it is killed), graceful stop, join, key-group
/// or coordinator migration, slow and failing sink staging (prepares), failing and slow sink commits, slow and failing
/// checkpoint store, a slow source, duplicated, delayed and dropped exchange deliveries, and lost engine calls and
/// answers. Then every fault heals, the input completes, and the committed output must equal the brute-force oracle
/// exactly (no window lost, none twice, none wrong) with the pipeline not FAILED. One schedule takes about 6-12 s.
/// <para>Modes, by environment variable:</para>
/// <list type="bullet">
/// <item>none: the fixed seeds below (every fault kind among them).</item>
/// <item><c>SLUICE_FAULT_SCHEDULES=N</c>: a soak of N random schedules, seeds counting up from a random base that is
/// printed first; a failing schedule does not stop the soak, which fails at the end listing every failing seed.</item>
/// <item><c>SLUICE_FAULT_SEED=S</c>: replays the schedule of seed S (the same faults at the same times on the same
/// input; thread timing differs).</item>
/// <item><c>SLUICE_FAULT_LOG=path</c>: appends one tab-separated line per schedule (seed, result, seconds, faults by kind,
/// attempt, restarts, source handovers, checkpoints completed and failed, what was injected, the failure).</item>
/// <item><c>SLUICE_FAULT_EXCLUDE=kind,kind</c>: drops fault kinds (names of <see cref="FaultKind"/>, case-insensitive)
/// from the draw; this changes the schedule a seed gives, so a replay needs the same exclusion.</item>
/// </list>
/// A failing schedule prints its seed, its fault timeline and the command that replays it.
/// </summary>
public sealed class FaultScheduleTests(ITestOutputHelper output)
{
    /// <summary>Seeds whose schedules together draw every fault kind (checked below) and pass.</summary>
    private static readonly int[] Seeds = [2, 40, 301, 337, 315, 183, 11, 106, 9, 163, 288, 190];

    public static TheoryData<int> FixedSeeds => new(Seeds);

    [SkippableTheory]
    [MemberData(nameof(FixedSeeds))]
    public async Task The_committed_output_equals_the_oracle_exactly_under_the_fault_schedule_of_seed(int seed)
    {
        var settings = FaultScheduleSettings.FromEnvironment();
        Skip.If(settings.FromEnvironmentOnly, $"{FaultScheduleSettings.SchedulesVariable} or {FaultScheduleSettings.SeedVariable} is set: only those schedules run");
        var result = await FaultScheduleRun.RunAsync(FaultSchedule.Generate(seed, settings.Excluded), output);
        settings.Log(result);
        Assert.True(result.Passed, $"seed {seed}: {result.Failure}\nreplay: {result.Schedule.ReplayCommand(settings.Excluded)}");
    }

    [Fact]
    public void The_fixed_seeds_draw_every_fault_kind_and_every_stage()
    {
        var drawn = Seeds.SelectMany(seed => FaultSchedule.Generate(seed).Faults.Select(f => f.Kind)).ToHashSet();
        Assert.Empty(FaultKinds.All.Except(drawn));
        var stages = Seeds.Select(seed => FaultSchedule.Generate(seed).Stage).ToHashSet();
        Assert.True(
            Enum.GetValues<FaultStage>().All(stages.Contains),
            string.Join("; ", Seeds.Select(seed => FaultSchedule.Generate(seed).Describe())));
    }

    [SkippableFact]
    public async Task Random_fault_schedules_from_the_environment_keep_the_exactly_once_promise()
    {
        var settings = FaultScheduleSettings.FromEnvironment();
        Skip.IfNot(settings.FromEnvironmentOnly, $"set {FaultScheduleSettings.SchedulesVariable}=N for a soak or {FaultScheduleSettings.SeedVariable}=S to replay one schedule");
        int[] seeds;
        if (settings.Seed is { } replay)
        {
            seeds = [replay];
        }
        else
        {
            var first = Random.Shared.Next(1_000, 1_000_000_000);
            seeds = Enumerable.Range(first, settings.Schedules!.Value).ToArray();
            output.WriteLine($"soak of {seeds.Length} schedules, seeds {first}..{first + seeds.Length - 1}");
        }

        var failed = new List<FaultScheduleResult>();
        foreach (var seed in seeds)
        {
            var result = await FaultScheduleRun.RunAsync(FaultSchedule.Generate(seed, settings.Excluded), output);
            settings.Log(result);
            if (!result.Passed)
            {
                failed.Add(result);
            }
        }

        Assert.True(
            failed.Count == 0,
            $"{failed.Count} of {seeds.Length} schedules failed:\n"
            + string.Join("\n", failed.Select(r => $"seed {r.Schedule.Seed}: {r.Failure}\n  replay: {r.Schedule.ReplayCommand(settings.Excluded)}")));
    }
}
