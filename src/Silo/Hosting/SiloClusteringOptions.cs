using System.Net;
using System.Text.RegularExpressions;
using Azure.Data.Tables;

namespace Sluice.Silo.Hosting;

/// <summary>The membership providers the silo can use (<c>Sluice:Clustering:Kind</c>, case-insensitive).</summary>
internal static class ClusteringKinds
{
    /// <summary>One silo, or several on one machine that point at the first as primary (Orleans' development clustering).</summary>
    public const string Localhost = "Localhost";

    /// <summary>Orleans' Azure Table membership (Azure Storage or Azurite): silos in separate processes or machines.</summary>
    public const string AzureTable = "AzureTable";

    public static readonly IReadOnlyList<string> All = [Localhost, AzureTable];
}

/// <summary>Where Orleans records which silo hosts each grain (<c>Sluice:Clustering:GrainDirectory</c>, case-insensitive).</summary>
internal static class GrainDirectoryKinds
{
    /// <summary>Orleans' default, eventually consistent directory: fast to recover from a crashed silo.</summary>
    public const string Default = "Default";

    /// <summary>
    /// Orleans' strongly consistent distributed directory (experimental in Orleans 10): no duplicate activations while
    /// silos join or leave, so key groups keep their state through graceful shutdowns and joins without a restart.
    /// </summary>
    public const string Distributed = "Distributed";

    public static readonly IReadOnlyList<string> All = [Default, Distributed];
}

/// <summary>
/// How the silo finds the other members of its cluster (section <c>Sluice:Clustering</c>). Ports, cluster id and
/// service id come from <see cref="SluiceHostOptions"/>; this section picks the membership provider.
/// </summary>
internal sealed partial class SiloClusteringOptions
{
    public const string SectionName = "Sluice:Clustering";

    /// <summary>
    /// Failure detection, bound onto Orleans' <c>ClusterMembershipOptions</c>: e.g. <c>ProbeTimeout</c> 00:00:02 and
    /// <c>NumMissedProbesLimit</c> 2 declare a SIGKILLed silo dead within a few seconds instead of Orleans' default ~30 s.
    /// </summary>
    public const string MembershipSectionName = SectionName + ":Membership";

    /// <summary>
    /// Grain directory settings, bound onto Orleans' <c>GrainDirectoryOptions</c>. With the distributed directory,
    /// <c>RangeLeaseDuration</c> minus the failure-detection time is how long after a crash the dead silo's grains cannot
    /// be activated elsewhere; the pipeline stalls that long. Sluice sets 5 s instead of Orleans' 30 s: a silo declared
    /// dead but still running cannot corrupt a pipeline, whose messages and commits are fenced by the attempt.
    /// </summary>
    public const string DirectorySectionName = SectionName + ":Directory";

    /// <summary><see cref="ClusteringKinds.Localhost"/> (default) or <see cref="ClusteringKinds.AzureTable"/>.</summary>
    public string Kind { get; set; } = ClusteringKinds.Localhost;

    /// <summary>Storage connection string of the membership table (AzureTable); Azurite's works. Or set <see cref="ServiceUri"/>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Table service URL such as https://myaccount.table.core.windows.net (AzureTable), used with
    /// <c>DefaultAzureCredential</c> (a managed identity; for a user-assigned one set <c>AZURE_CLIENT_ID</c>) instead
    /// of <see cref="ConnectionString"/>.
    /// </summary>
    public string? ServiceUri { get; set; }

    /// <summary>Membership table name (AzureTable); created if missing. Orleans' default when empty.</summary>
    public string? TableName { get; set; }

    /// <summary>
    /// Address the silo advertises to the others (AzureTable). Loopback by default: the multi-process cluster this
    /// serves runs on one machine; set a routable address when the silos run on several, or <c>auto</c> to advertise
    /// the machine's (container's) own address and listen on all of them, as replicas of a container app must.
    /// </summary>
    public string AdvertisedIPAddress { get; set; } = "127.0.0.1";

    /// <summary>True when <see cref="AdvertisedIPAddress"/> is <c>auto</c>.</summary>
    public bool AdvertisesOwnAddress => string.Equals(AdvertisedIPAddress?.Trim(), "auto", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// <see cref="GrainDirectoryKinds.Distributed"/> (the default with AzureTable clustering) or
    /// <see cref="GrainDirectoryKinds.Default"/> (Orleans' own default, used with Localhost). With Orleans' default
    /// directory a silo leaving or joining can briefly let a key group be activated twice, which Sluice answers with a
    /// restart from the last checkpoint (exactly once either way, but the state is reloaded); the distributed one keeps
    /// state in memory through graceful shutdowns and joins. Every silo of a cluster must use the same directory.
    /// </summary>
    public string? GrainDirectory { get; set; }

    /// <summary>The directory to use in its canonical spelling, or null if <see cref="GrainDirectory"/> names none.</summary>
    public string? ResolvedGrainDirectory =>
        string.IsNullOrWhiteSpace(GrainDirectory)
            ? ResolvedKind == ClusteringKinds.AzureTable ? GrainDirectoryKinds.Distributed : GrainDirectoryKinds.Default
            : GrainDirectoryKinds.All.FirstOrDefault(k => string.Equals(k, GrainDirectory.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <summary>The configured kind in its canonical spelling, or null if <see cref="Kind"/> names none.</summary>
    public string? ResolvedKind =>
        string.IsNullOrWhiteSpace(Kind)
            ? ClusteringKinds.Localhost
            : ClusteringKinds.All.FirstOrDefault(k => string.Equals(k, Kind.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <summary>Problems with the settings, each naming the setting by its configuration path; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        switch (ResolvedKind)
        {
            case null:
                errors.Add($"{SectionName}:Kind '{Kind}' is not a clustering kind; use one of {string.Join(", ", ClusteringKinds.All)}.");
                break;
            case ClusteringKinds.AzureTable:
                ValidateAzureTable(errors);
                break;
        }

        if (ResolvedGrainDirectory is null)
        {
            errors.Add($"{SectionName}:GrainDirectory '{GrainDirectory}' is not a grain directory; use one of {string.Join(", ", GrainDirectoryKinds.All)}.");
        }

        return errors;
    }

    private void ValidateAzureTable(List<string> errors)
    {
        var hasServiceUri = !string.IsNullOrWhiteSpace(ServiceUri);
        if (string.IsNullOrWhiteSpace(ConnectionString) && !hasServiceUri)
        {
            errors.Add($"{SectionName}:ConnectionString is empty; AzureTable clustering needs the storage connection string of the membership table "
                + "(for Azurite: DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=...;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;), "
                + $"or {SectionName}:ServiceUri (https://<account>.table.core.windows.net) to authenticate with DefaultAzureCredential.");
        }
        else if (!string.IsNullOrWhiteSpace(ConnectionString) && hasServiceUri)
        {
            errors.Add($"{SectionName}:ConnectionString and {SectionName}:ServiceUri are both set; set only one.");
        }
        else if (hasServiceUri)
        {
            if (!Uri.TryCreate(ServiceUri, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            {
                errors.Add($"{SectionName}:ServiceUri '{ServiceUri}' is not an absolute http(s) URL such as https://<account>.table.core.windows.net.");
            }
        }
        else
        {
            try
            {
                _ = new TableServiceClient(ConnectionString);
            }
            catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
            {
                errors.Add($"{SectionName}:ConnectionString is not a valid storage connection string ({e.Message}).");
            }
        }

        if (!string.IsNullOrWhiteSpace(TableName) && !AzureTableName().IsMatch(TableName))
        {
            errors.Add($"{SectionName}:TableName '{TableName}' is not a valid table name (3-63 letters and digits, starting with a letter).");
        }

        if (!AdvertisesOwnAddress && !IPAddress.TryParse(AdvertisedIPAddress, out _))
        {
            errors.Add($"{SectionName}:AdvertisedIPAddress '{AdvertisedIPAddress}' is not an IP address (nor 'auto').");
        }
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9]{2,62}$")]
    private static partial Regex AzureTableName();
}
