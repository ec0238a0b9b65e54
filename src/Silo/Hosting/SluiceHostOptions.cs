namespace Sluice.Silo.Hosting;

/// <summary>Settings of the silo host (section "Sluice").</summary>
internal sealed class SluiceHostOptions
{
    /// <summary>Where the admin HTTP API listens.</summary>
    public string ApiUrl { get; set; } = "http://127.0.0.1:5080";

    /// <summary>When set, API calls must send it in the X-Api-Key header.</summary>
    public string? ApiKey { get; set; }

    public string ClusterId { get; set; } = "sluice";

    public string ServiceId { get; set; } = "sluice";

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;

    /// <summary>The built-in job this silo runs: "demo" (default), "windowed-counts" (section Jobs:WindowedCounts) or "fraud" (section Jobs:Fraud).</summary>
    public string Job { get; set; } = "demo";
}
