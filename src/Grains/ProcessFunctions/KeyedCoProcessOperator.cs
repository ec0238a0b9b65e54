using Sluice.Operators;
using Sluice.State;
using Sluice.State.Serialization;
using Sluice.Tasks;

namespace Sluice.ProcessFunctions;

/// <summary>
/// Runs a <see cref="KeyedCoProcessFunction{TKey,TIn1,TIn2,TOut}"/> for one key group (Flink's
/// <c>KeyedCoProcessOperator</c>): records of both inputs reach the same keyed state and timers.
/// </summary>
internal sealed class KeyedCoProcessOperator<TIn1, TIn2, TKey, TOut> : ProcessOperatorBase<TKey, TOut>, IKeyedOperator<TIn1, TKey>, IKeyedSecondInputOperator<TIn2, TKey>
    where TKey : notnull
{
    private readonly KeyedCoProcessFunction<TKey, TIn1, TIn2, TOut> _function;

    public KeyedCoProcessOperator(
        string name,
        KeyedCoProcessFunction<TKey, TIn1, TIn2, TOut> function,
        IRecordSink<TOut> output,
        IKeyedStateBackend<TKey> backend,
        IStateSerializerProvider serializers,
        OperatorCounters counters,
        UserErrorReporter errors,
        SideOutputs? sideOutputs = null)
        : base(name, output, backend, serializers, counters, errors, sideOutputs)
    {
        _function = function;
        function.Open(State);
    }

    protected override string SchemaKind => "coprocess";

    /// <summary>A record of the first input.</summary>
    public void ProcessElement(TKey key, TIn1 value, long timestamp)
    {
        BeginElement(key, timestamp);
        _function.ProcessElement1(value, this, Collector);
    }

    /// <summary>A record of the second input.</summary>
    public void ProcessElement2(TKey key, TIn2 value, long timestamp)
    {
        BeginElement(key, timestamp);
        _function.ProcessElement2(value, this, Collector);
    }

    protected override void InvokeOnTimer(long time) => _function.OnTimer(time, this, Collector);
}
