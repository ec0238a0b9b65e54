namespace Sluice.AspNetCore;

/// <summary>Settings of the admin API mapped by <see cref="SluiceApi.MapSluiceApi"/> (section <c>Sluice:Api</c>).</summary>
public sealed class SluiceApiOptions
{
    /// <summary>The configuration section <c>AddSluiceApi(IConfiguration)</c> usually reads.</summary>
    public const string SectionName = "Sluice:Api";

    /// <summary>When set, every API call must send it in the <c>X-Api-Key</c> header; otherwise it is answered 401.</summary>
    public string? ApiKey { get; set; }
}
