namespace Sluice.Hosting;

/// <summary>
/// How <see cref="SluiceClientServiceCollectionExtensions.AddSluiceClient"/> reaches the Sluice cluster when it
/// registers its own Orleans client. Ignored when the host already has an Orleans client (for example when it
/// runs inside a silo).
/// </summary>
public sealed class SluiceClientOptions
{
    /// <summary>The silo gateway port on localhost (the silo's default is 30000).</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>The Orleans cluster id; must match the silos' <c>ClusterOptions.ClusterId</c>.</summary>
    public string ClusterId { get; set; } = "sluice";

    /// <summary>The Orleans service id; must match the silos' <c>ClusterOptions.ServiceId</c>.</summary>
    public string ServiceId { get; set; } = "sluice";
}
