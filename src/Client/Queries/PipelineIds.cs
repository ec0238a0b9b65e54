namespace Sluice.Queries;

/// <summary>The rules a pipeline id must follow before it is used as a grain key.</summary>
internal static class PipelineIds
{
    /// <exception cref="ArgumentException"><paramref name="pipelineId"/> is null, empty, white space or contains '/'.</exception>
    public static void Validate(string? pipelineId, string parameterName)
    {
        if (string.IsNullOrWhiteSpace(pipelineId))
        {
            throw new ArgumentException("A pipeline id must not be null, empty or white space.", parameterName);
        }

        if (pipelineId.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"Pipeline id \"{pipelineId}\" must not contain '/': Sluice uses '/' to separate the parts of grain keys (\"{{pipeline}}/{{stage}}/{{group}}\").",
                parameterName);
        }
    }
}
