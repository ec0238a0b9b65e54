using Sluice.Grains;

namespace Sluice.Queries;

/// <summary>Answers <see cref="ISluiceClient"/> queries with calls to the cluster's pipeline grains.</summary>
internal sealed class SluiceClient(IClusterClient cluster) : ISluiceClient
{
    public Task<PipelineStatus> GetPipelineAsync(string pipelineId, CancellationToken ct = default)
    {
        PipelineIds.Validate(pipelineId, nameof(pipelineId));
        ct.ThrowIfCancellationRequested();

        return cluster.GetGrain<IPipelineGrain>(pipelineId).GetStatusAsync().WaitAsync(ct);
    }
}
