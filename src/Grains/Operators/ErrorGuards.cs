using Sluice.ProcessFunctions;
using Sluice.Tasks;

namespace Sluice.Operators;

/// <summary>
/// Applies an operator's own <see cref="ErrorPolicy"/> (<c>DataStream.OnError</c>) to its function's failures. The operator
/// pushes downstream through a <see cref="DownstreamBoundary{T}"/>, so a failure further down the chain passes this guard
/// untouched and is handled by the policy that applies there. A try/catch per record, no allocation unless a record fails.
/// </summary>
internal sealed class GuardedOperator<T>(
    IRecordSink<T> inner,
    string name,
    ErrorPolicy policy,
    UserErrorReporter errors,
    OperatorCounters counters,
    SideOutputs deadLetters) : IRecordSink<T>
{
    private readonly OutputTag<FailedRecord<T>>? _tag = policy.Tag as OutputTag<FailedRecord<T>>;

    public void Push(T value, long timestamp)
    {
        try
        {
            inner.Push(value, timestamp);
        }
        catch (Exception ex) when (ex is not ChainedFailure and not UserFunctionException)
        {
            Handle(ex, value, timestamp);
        }
    }

    private void Handle(Exception ex, T value, long timestamp)
    {
        var activity = $"running '{name}'";
        switch (policy.Kind)
        {
            case ErrorPolicyKind.SkipAndCount:
                errors.Skip(ex, activity);
                counters.InvalidRecords++;
                break;
            case ErrorPolicyKind.DeadLetter:
                errors.Skip(ex, activity);
                counters.InvalidRecords++;
                deadLetters.Emit(_tag!, new FailedRecord<T>(value, ex.GetType().FullName ?? ex.GetType().Name, ex.Message, name), timestamp);
                break;
            default:
                throw new UserFunctionException(errors.Describe(ex, activity), ex);
        }
    }
}

/// <summary>Marks failures of the chain after a guarded operator as not its own (see <see cref="GuardedOperator{T}"/>).</summary>
internal sealed class DownstreamBoundary<T>(IRecordSink<T> next) : IRecordSink<T>
{
    public void Push(T value, long timestamp)
    {
        try
        {
            next.Push(value, timestamp);
        }
        catch (Exception ex) when (ex is not ChainedFailure)
        {
            throw new ChainedFailure(ex);
        }
    }
}
