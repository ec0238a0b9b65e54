using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Operators;
using Sluice.Pipelines;
using Sluice.ProcessFunctions;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Tasks;

namespace Sluice.Tests.Pipelines;

/// <summary>Each <see cref="ErrorPolicy"/> on the operators and reporters that apply it, and its validation in the builder and planner.</summary>
public sealed class ErrorPolicyTests
{
    private static readonly OutputTag<FailedRecord<int>> DeadLetters = new("dead");

    [Fact]
    public void Fail_is_the_default_and_throws_a_task_failure_with_the_function_and_message()
    {
        Assert.Same(ErrorPolicy.Fail, new PipelineOptions().OnError);
        var errors = new UserErrorReporter(NullLogger.Instance, "p/window[3]", () => 0, ErrorPolicy.Fail);

        var failure = Assert.Throws<UserFunctionException>(() => errors.Report(new InvalidOperationException("boom"), "processing a record"));

        Assert.Equal("p/window[3]: InvalidOperationException while processing a record: boom", failure.Message);
        Assert.IsType<InvalidOperationException>(failure.InnerException);
        Assert.Null(errors.LastError);
        // A failure already raised further down the chain passes on unchanged, not wrapped twice.
        Assert.Same(failure, Assert.Throws<UserFunctionException>(() => errors.Report(failure, "emitting a window")));
    }

    [Fact]
    public void SkipAndCount_records_the_last_error_and_does_not_throw()
    {
        var errors = new UserErrorReporter(NullLogger.Instance, "p/src[0]", () => 0, ErrorPolicy.SkipAndCount);

        errors.Report(new FormatException("bad digits"), "processing record 7");

        Assert.Equal("p/src[0]: FormatException while processing record 7: bad digits", errors.LastError);
    }

    [Fact]
    public void An_operator_with_SkipAndCount_drops_and_counts_only_its_own_failures()
    {
        var counters = new OperatorCounters();
        var errors = new UserErrorReporter(NullLogger.Instance, "t", () => 0, ErrorPolicy.Fail);
        var downstream = new ListSink<int>(throwOn: 7);
        var op = Guard(v => v == 2 ? throw new InvalidOperationException("two") : v + 4, downstream, ErrorPolicy.SkipAndCount, errors, counters);

        op.Push(1, 10);
        op.Push(2, 11);

        Assert.Equal([5], downstream.Values);
        Assert.Equal(1, counters.InvalidRecords);
        Assert.Contains("'plus-four'", errors.LastError, StringComparison.Ordinal);
        Assert.Contains("two", errors.LastError, StringComparison.Ordinal);

        // 3 + 4 = 7 fails downstream: not this operator's to skip; it reaches the task, whose policy (Fail) applies.
        var chained = Assert.Throws<ChainedFailure>(() => op.Push(3, 12));
        Assert.IsType<ArgumentException>(UserErrorReporter.Unwrap(chained));
        Assert.Throws<UserFunctionException>(() => errors.Report(chained, "processing a record"));
        Assert.Equal(1, counters.InvalidRecords);
    }

    [Fact]
    public void An_operator_with_Fail_fails_the_task_even_when_the_pipeline_skips()
    {
        var errors = new UserErrorReporter(NullLogger.Instance, "t", () => 0, ErrorPolicy.SkipAndCount);
        var op = Guard(v => v == 2 ? throw new InvalidOperationException("two") : v + 4, new ListSink<int>(throwOn: -1), ErrorPolicy.Fail, errors, new OperatorCounters());

        var failure = Assert.Throws<UserFunctionException>(() => op.Push(2, 0));

        Assert.Contains("'plus-four'", failure.Message, StringComparison.Ordinal);
        // The task-level handling passes it on rather than skipping it.
        Assert.Throws<UserFunctionException>(() => errors.Report(failure, "processing a record"));
    }

    [Fact]
    public void An_operator_with_DeadLetter_sends_the_record_the_exception_and_its_name_to_the_side_output()
    {
        var counters = new OperatorCounters();
        var errors = new UserErrorReporter(NullLogger.Instance, "t", () => 0, ErrorPolicy.Fail);
        var dead = new ListSink<FailedRecord<int>>(throwOn: null!);
        var sides = new SideOutputs([new SideOutput<FailedRecord<int>>(DeadLetters, dead)], counters);
        var main = new ListSink<int>(throwOn: -1);
        var op = new GuardedOperator<int>(
            new MapOperator<int, int>(v => v == 2 ? throw new InvalidOperationException("two") : v + 4, new DownstreamBoundary<int>(main)),
            "plus-four", ErrorPolicy.DeadLetter(DeadLetters), errors, counters, sides);

        op.Push(1, 10);
        op.Push(2, 11);
        op.Push(3, 12);

        Assert.Equal([5, 7], main.Values);
        var failed = Assert.Single(dead.Values);
        Assert.Equal(new FailedRecord<int>(2, typeof(InvalidOperationException).FullName!, "two", "plus-four"), failed);
        Assert.Equal(1, counters.InvalidRecords);
    }

    [Fact]
    public void The_builder_checks_where_OnError_applies_and_the_dead_letter_record_type()
    {
        var p = Pipeline.Create("policies");
        var source = p.From(new InMemorySource<int>("in", 1));
        var mapped = source.Map(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture), "text");

        Assert.Throws<InvalidOperationException>(() => mapped.OnError(ErrorPolicy.DeadLetter(new OutputTag<FailedRecord<string>>("wrong-type"))));
        Assert.Throws<InvalidOperationException>(() => mapped.SideOutput(DeadLetters));
        mapped.OnError(ErrorPolicy.DeadLetter(DeadLetters));
        Assert.NotNull(mapped.SideOutput(DeadLetters));
        Assert.Throws<InvalidOperationException>(() => source.OnError(ErrorPolicy.SkipAndCount));
    }

    [Fact]
    public void A_pipeline_wide_dead_letter_policy_is_rejected()
    {
        var p = Pipeline.Create("pipeline-dead-letter", o => o.OnError = ErrorPolicy.DeadLetter(DeadLetters));
        p.From(new InMemorySource<int>("in", 1)).SinkTo(new CollectingSink<int>("out"));

        var error = Assert.Throws<PipelineValidationException>(() => PipelinePlanner.Plan(p));

        Assert.Contains("per operator", error.Message, StringComparison.Ordinal);
    }

    private static GuardedOperator<int> Guard(Func<int, int> map, IRecordSink<int> next, ErrorPolicy policy, UserErrorReporter errors, OperatorCounters counters) =>
        new(new MapOperator<int, int>(map, new DownstreamBoundary<int>(next)), "plus-four", policy, errors, counters, SideOutputs.None);

    private sealed class ListSink<T>(T throwOn) : IRecordSink<T>
    {
        public List<T> Values { get; } = [];

        public void Push(T value, long timestamp)
        {
            if (throwOn is not null && EqualityComparer<T>.Default.Equals(value, throwOn))
            {
                throw new ArgumentException($"downstream rejects {value}");
            }

            Values.Add(value);
        }
    }
}
