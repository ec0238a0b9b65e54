using Sluice.Functions;

namespace Sluice.Sinks.Files;

/// <summary>
/// A prepared epoch cannot be committed because neither its staged part nor its committed part exists: the staged
/// object was deleted by hand, or the checkpoint that holds the transaction belongs to another store or prefix. Retrying
/// cannot help, so the pipeline fails with this message.
/// </summary>
public sealed class FileSinkCommitException : UnrecoverableSinkException
{
    public FileSinkCommitException(string sink, long checkpointId, string stagedPath, string finalPath, int records, string store)
        : base($"File sink '{sink}' cannot commit checkpoint {checkpointId}: neither the staged part '{stagedPath}' nor the "
            + $"committed part '{finalPath}' exists in {store}. The epoch's {records} record(s) are lost unless the pipeline is "
            + "restored from an earlier checkpoint.")
    {
        Sink = sink;
        CheckpointId = checkpointId;
        StagedPath = stagedPath;
        FinalPath = finalPath;
    }

    public string Sink { get; }

    public long CheckpointId { get; }

    public string StagedPath { get; }

    public string FinalPath { get; }
}
