using Sluice.Grains;

namespace Sluice.Queries;

/// <summary>Reads the state of pipelines running on a Sluice cluster. Register it with <c>AddSluiceClient()</c>.</summary>
public interface ISluiceClient
{
    /// <summary>The current status of one pipeline, summed over all its tasks.</summary>
    /// <param name="pipelineId">The pipeline's id: not empty and without '/'.</param>
    /// <param name="ct">Stops waiting for the answer; the grain call itself is not cancelled.</param>
    /// <exception cref="ArgumentException"><paramref name="pipelineId"/> is null, empty or contains '/'.</exception>
    Task<PipelineStatus> GetPipelineAsync(string pipelineId, CancellationToken ct = default);
}
