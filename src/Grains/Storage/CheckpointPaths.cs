namespace Sluice.Storage;

/// <summary>
/// Rules for checkpoint store paths. A path is a non-empty sequence of '/'-separated segments; no segment is empty,
/// "." or "..", none starts with ".sluice-" (reserved for the stores' temporary objects), and there are no
/// backslashes or control characters. So the same path means the same object on every store.
/// </summary>
internal static class CheckpointPaths
{
    /// <summary>Prefix of the names the stores use for temporary objects and probes; never listed.</summary>
    public const string ReservedPrefix = ".sluice-";

    public static void ValidatePath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            throw new ArgumentException("A checkpoint path must not be empty.", nameof(path));
        }

        if (path.Length > 1000)
        {
            throw new ArgumentException($"Checkpoint path is {path.Length} characters long; at most 1000 are allowed.", nameof(path));
        }

        foreach (var segment in path.Split('/'))
        {
            ValidateSegment(path, segment, nameof(path));
        }
    }

    /// <summary>A list prefix: empty, or a path, optionally ending with '/' (its last segment may be partial).</summary>
    public static void ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length == 0)
        {
            return;
        }

        var trimmed = prefix.EndsWith('/') ? prefix[..^1] : prefix;
        if (trimmed.Length == 0)
        {
            throw new ArgumentException("A checkpoint list prefix must not be '/'; use \"\" to list everything.", nameof(prefix));
        }

        var segments = trimmed.Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            // The last segment of a prefix without a trailing '/' may be the start of a name (e.g. "chk-1").
            var partial = i == segments.Length - 1 && !prefix.EndsWith('/');
            if (partial && (segments[i] == "." || segments[i] == ".."))
            {
                continue;
            }

            ValidateSegment(prefix, segments[i], nameof(prefix));
        }
    }

    /// <summary>True for keys of temporary objects that must not be listed.</summary>
    public static bool IsReserved(string relativePath) =>
        relativePath.StartsWith(ReservedPrefix, StringComparison.Ordinal) || relativePath.Contains("/" + ReservedPrefix, StringComparison.Ordinal);

    /// <summary>Joins an optional store prefix (e.g. "prod/checkpoints") and a relative path into a key.</summary>
    public static string Join(string storePrefix, string relative) =>
        storePrefix.Length == 0 ? relative : storePrefix + "/" + relative;

    /// <summary>Normalises a configured store prefix: trims '/' at both ends; "" for none.</summary>
    public static string NormalizeStorePrefix(string? prefix) => (prefix ?? string.Empty).Trim().Trim('/');

    private static void ValidateSegment(string path, string segment, string parameter)
    {
        if (segment.Length == 0)
        {
            throw new ArgumentException($"Checkpoint path '{path}' has an empty segment (leading, trailing or double '/').", parameter);
        }

        if (segment is "." or "..")
        {
            throw new ArgumentException($"Checkpoint path '{path}' has a '{segment}' segment.", parameter);
        }

        if (segment.StartsWith(ReservedPrefix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Checkpoint path '{path}': names starting with '{ReservedPrefix}' are reserved for the store.", parameter);
        }

        foreach (var c in segment)
        {
            if (c == '\\' || char.IsControl(c))
            {
                throw new ArgumentException($"Checkpoint path '{path}' contains a backslash or a control character.", parameter);
            }
        }
    }
}
