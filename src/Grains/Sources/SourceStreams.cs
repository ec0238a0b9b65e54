namespace Sluice.Sources;

/// <summary>Names shared by the source stream provider and the grains it feeds.</summary>
internal static class SourceStreams
{
    /// <summary>Stream provider that runs generator and in-memory sources.</summary>
    public const string ProviderName = "sluice-sources";

    /// <summary>Namespace of key-group streams; the stream key is the target grain's key "{pipeline}/{stage}/{task}".</summary>
    public const string Namespace = "sluice";
}
