namespace Sluice;

/// <summary>What happens when a user function (map, filter, key selector, timestamp assigner, aggregate, window or process function, timer, sink write) throws.</summary>
public enum ErrorPolicyKind
{
    /// <summary>The task fails: with checkpoints the pipeline restarts from the last one (the restart strategy applies); without them it is FAILED.</summary>
    Fail,

    /// <summary>The record is dropped and counted (<c>invalidRecords</c>, <c>lastError</c> in the API); nothing restarts.</summary>
    SkipAndCount,
}

/// <summary>
/// How a pipeline (<see cref="PipelineOptions.OnError"/>) or one operator (<c>DataStream.OnError</c>) treats a throwing user
/// function. <see cref="Fail"/>, the default, is Flink's: a failure never silently loses a record.
/// </summary>
public sealed class ErrorPolicy
{
    private ErrorPolicy(ErrorPolicyKind kind) => Kind = kind;

    public ErrorPolicyKind Kind { get; }

    /// <summary>The task fails and the pipeline restarts from its last checkpoint; past the restart limit, or without checkpoints, it is FAILED with the exception's message.</summary>
    public static ErrorPolicy Fail { get; } = new(ErrorPolicyKind.Fail);

    /// <summary>The record is dropped and counted, and the error shown as the pipeline's last error: at most once for that record.</summary>
    public static ErrorPolicy SkipAndCount { get; } = new(ErrorPolicyKind.SkipAndCount);

    public override string ToString() => Kind.ToString();
}
