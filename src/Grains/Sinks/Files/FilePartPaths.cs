using System.Globalization;

namespace Sluice.Sinks.Files;

/// <summary>
/// Names of a file sink's objects under its prefix. A committed part is <c>{prefix}/part-{task:D4}-{checkpoint:D10}{ext}</c>,
/// the same for every attempt, so committing twice finds it; a staged part is
/// <c>{prefix}/_staging/part-{task:D4}-{checkpoint:D10}-{guid}{ext}</c>, unique per attempt, so two attempts never
/// overwrite each other's staged data.
/// </summary>
internal sealed class FilePartPaths(string prefix, string extension)
{
    public const string StagingFolder = "_staging";
    private const string PartPrefix = "part-";

    /// <summary>The list prefix of the committed parts (and of the staging folder below them).</summary>
    public string Folder { get; } = prefix + "/";

    public string Final(int taskIndex, long checkpointId) =>
        string.Create(CultureInfo.InvariantCulture, $"{prefix}/{PartPrefix}{taskIndex:D4}-{checkpointId:D10}{extension}");

    public string Staged(int taskIndex, long checkpointId, Guid attempt) =>
        string.Create(CultureInfo.InvariantCulture, $"{prefix}/{StagingFolder}/{PartPrefix}{taskIndex:D4}-{checkpointId:D10}-{attempt:N}{extension}");

    /// <summary>True for a committed part file directly in the folder; false for staged parts and anything else.</summary>
    public bool IsCommittedPart(string path)
    {
        if (!path.StartsWith(Folder, StringComparison.Ordinal))
        {
            return false;
        }

        var name = path.AsSpan(Folder.Length);
        return name.IndexOf('/') < 0
            && name.StartsWith(PartPrefix, StringComparison.Ordinal)
            && name.EndsWith(extension, StringComparison.Ordinal);
    }
}
