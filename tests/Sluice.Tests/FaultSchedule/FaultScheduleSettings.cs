using System.Globalization;

namespace Sluice.Tests.FaultSchedule;

/// <summary>The fault-schedule test's environment variables (see <see cref="FaultScheduleTests"/>).</summary>
internal sealed record FaultScheduleSettings(int? Schedules, int? Seed, string? LogPath, IReadOnlySet<FaultKind> Excluded)
{
    private static readonly object LogLock = new();

    public const string SchedulesVariable = "SLUICE_FAULT_SCHEDULES";
    public const string SeedVariable = "SLUICE_FAULT_SEED";
    public const string LogVariable = "SLUICE_FAULT_LOG";
    public const string ExcludeVariable = "SLUICE_FAULT_EXCLUDE";

    /// <summary>A soak or a replay was asked for: the fixed seeds step aside.</summary>
    public bool FromEnvironmentOnly => Schedules is not null || Seed is not null;

    public static FaultScheduleSettings FromEnvironment() =>
        new(
            Number(SchedulesVariable),
            Number(SeedVariable),
            Environment.GetEnvironmentVariable(LogVariable) is { Length: > 0 } log ? log : null,
            FaultKinds.Parse(Environment.GetEnvironmentVariable(ExcludeVariable)));

    /// <summary>Appends the schedule's line to SLUICE_FAULT_LOG, if set (parallel runs append whole lines).</summary>
    public void Log(FaultScheduleResult result)
    {
        if (LogPath is null)
        {
            return;
        }

        lock (LogLock)
        {
            File.AppendAllText(LogPath, result.LogLine() + Environment.NewLine);
        }
    }

    private static int? Number(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } text
            ? int.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture)
            : null;
}
