namespace Sluice.Queries;

/// <summary>A live state query could not be answered; the subclasses say why.</summary>
[GenerateSerializer]
public class StateQueryException : Exception
{
    public StateQueryException(string message)
        : base(message)
    {
    }

    public StateQueryException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>No pipeline with this id is registered on the cluster's silos.</summary>
[GenerateSerializer]
public sealed class PipelineNotFoundException : StateQueryException
{
    public PipelineNotFoundException(string pipelineId)
        : base($"No pipeline '{pipelineId}' is registered on the cluster.")
    {
        PipelineId = pipelineId;
    }

    [Id(0)]
    public string PipelineId { get; }
}

/// <summary>
/// The pipeline has no state queryable under this name: no state descriptor has this <c>QueryableName</c> and no stream
/// was made queryable with <c>AsQueryableState</c> under it (or, for a process function's state, the function never asked
/// for that state in <c>Open</c>).
/// </summary>
[GenerateSerializer]
public sealed class QueryableStateNotFoundException : StateQueryException
{
    public QueryableStateNotFoundException(string pipelineId, string stateName, string? detail = null)
        : base($"Pipeline '{pipelineId}' has no queryable state '{stateName}'{(detail is null ? "." : $": {detail}")}")
    {
        PipelineId = pipelineId;
        StateName = stateName;
    }

    [Id(0)]
    public string PipelineId { get; }

    [Id(1)]
    public string StateName { get; }
}

/// <summary>
/// The key group owning the key is restoring its state, or holds state its pipeline's restart is about to roll back (a
/// silo died or a task failed, and the restart waits out its backoff or has not reached the key group yet): nothing
/// consistent to show. Retry shortly.
/// </summary>
[GenerateSerializer]
public sealed class KeyGroupRestoringException : StateQueryException
{
    public KeyGroupRestoringException(string pipelineId, string stateName, int keyGroup)
        : base($"Key group {keyGroup} of queryable state '{stateName}' in pipeline '{pipelineId}' is restoring from a checkpoint; retry shortly.")
    {
        PipelineId = pipelineId;
        StateName = stateName;
        KeyGroup = keyGroup;
    }

    [Id(0)]
    public string PipelineId { get; }

    [Id(1)]
    public string StateName { get; }

    [Id(2)]
    public int KeyGroup { get; }
}

/// <summary>
/// The key or the value type of a query does not match the state: its key type is the <c>KeyBy</c> key type of the stage
/// holding it; its value type is T for value and reducing state, IReadOnlyList&lt;T&gt; for list state,
/// IReadOnlyDictionary&lt;K,V&gt; for map state and the result type for aggregating state. Also thrown when a key given
/// as text cannot be parsed as the state's key type.
/// </summary>
[GenerateSerializer]
public sealed class QueryableStateTypeException : StateQueryException
{
    public QueryableStateTypeException(string message)
        : base(message)
    {
    }
}
