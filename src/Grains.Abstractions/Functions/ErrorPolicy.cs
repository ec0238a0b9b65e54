using Sluice.ProcessFunctions;

namespace Sluice;

/// <summary>What happens when a user function (map, filter, key selector, timestamp assigner, aggregate, window or process function, timer, sink write) throws.</summary>
public enum ErrorPolicyKind
{
    /// <summary>The task fails: with checkpoints the pipeline restarts from the last one (the restart strategy applies); without them it is FAILED.</summary>
    Fail,

    /// <summary>The record is dropped and counted (<c>invalidRecords</c>, <c>lastError</c> in the API); nothing restarts.</summary>
    SkipAndCount,

    /// <summary>The record, the exception and the operator go to a side output as a <see cref="FailedRecord{T}"/>; counted like a skip.</summary>
    DeadLetter,
}

/// <summary>
/// How a pipeline (<see cref="PipelineOptions.OnError"/>) or one operator (<c>DataStream.OnError</c>) treats a throwing user
/// function. <see cref="Fail"/>, the default, is Flink's: a failure never silently loses a record.
/// </summary>
public sealed class ErrorPolicy
{
    private ErrorPolicy(ErrorPolicyKind kind, object? tag = null, Type? recordType = null)
    {
        Kind = kind;
        Tag = tag;
        RecordType = recordType;
    }

    public ErrorPolicyKind Kind { get; }

    /// <summary>The side output of <see cref="ErrorPolicyKind.DeadLetter"/> (an <c>OutputTag&lt;FailedRecord&lt;T&gt;&gt;</c>), else null.</summary>
    public object? Tag { get; }

    /// <summary>The type of the records <see cref="ErrorPolicyKind.DeadLetter"/> sends (the operator's input type), else null.</summary>
    public Type? RecordType { get; }

    /// <summary>The task fails and the pipeline restarts from its last checkpoint; past the restart limit, or without checkpoints, it is FAILED with the exception's message.</summary>
    public static ErrorPolicy Fail { get; } = new(ErrorPolicyKind.Fail);

    /// <summary>The record is dropped and counted, and the error shown as the pipeline's last error: at most once for that record.</summary>
    public static ErrorPolicy SkipAndCount { get; } = new(ErrorPolicyKind.SkipAndCount);

    /// <summary>
    /// Per operator only: the failed input record goes to <paramref name="tag"/> as a <see cref="FailedRecord{T}"/> (read it with
    /// <c>stream.SideOutput(tag)</c> on the operator's output stream); nothing restarts and no record is silently lost.
    /// </summary>
    public static ErrorPolicy DeadLetter<T>(OutputTag<FailedRecord<T>> tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        return new ErrorPolicy(ErrorPolicyKind.DeadLetter, tag, typeof(T));
    }

    public override string ToString() => Tag is null ? Kind.ToString() : $"{Kind}({Tag})";
}

/// <summary>A record a user function failed on, sent to the side output of <see cref="ErrorPolicy.DeadLetter{T}"/>.</summary>
/// <param name="Record">The input record the function threw on.</param>
/// <param name="ExceptionType">The exception's full type name.</param>
/// <param name="Message">The exception's message.</param>
/// <param name="Operator">The name of the operator whose function threw.</param>
[GenerateSerializer, Immutable]
public sealed record FailedRecord<T>(
    [property: Id(0)] T Record,
    [property: Id(1)] string ExceptionType,
    [property: Id(2)] string Message,
    [property: Id(3)] string Operator);
