namespace Sluice.AspNetCore;

/// <summary>Settings of the admin API mapped by <see cref="SluiceApi.MapSluiceApi"/> (section <c>Sluice:Api</c>).</summary>
public sealed class SluiceApiOptions
{
    /// <summary>The configuration section <c>AddSluiceApi(IConfiguration)</c> usually reads.</summary>
    public const string SectionName = "Sluice:Api";

    /// <summary>
    /// The key every API call must send in the <c>X-Api-Key</c> header (otherwise 401). Required outside the
    /// Development environment: a host that is not in Development and has no key refuses to start, naming this setting.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// Readiness (<c>/health/ready</c>) fails for a running checkpointed pipeline whose last completed checkpoint is older
    /// than this many checkpoint intervals (at least 2; default 5).
    /// </summary>
    public int StaleCheckpointIntervals { get; set; } = 5;
}
