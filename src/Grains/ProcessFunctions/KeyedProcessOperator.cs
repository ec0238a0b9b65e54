using Sluice.Operators;
using Sluice.State;
using Sluice.State.Serialization;
using Sluice.Tasks;

namespace Sluice.ProcessFunctions;

/// <summary>
/// Runs a <see cref="KeyedProcessFunction{TKey,TIn,TOut}"/> for one key group (Flink's <c>KeyedProcessOperator</c>);
/// state, timers and snapshots are the base's.
/// </summary>
internal sealed class KeyedProcessOperator<TIn, TKey, TOut> : ProcessOperatorBase<TKey, TOut>, IKeyedOperator<TIn, TKey>
    where TKey : notnull
{
    private readonly KeyedProcessFunction<TKey, TIn, TOut> _function;

    public KeyedProcessOperator(
        string name,
        KeyedProcessFunction<TKey, TIn, TOut> function,
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

    protected override string SchemaKind => "process";

    public void ProcessElement(TKey key, TIn value, long timestamp)
    {
        BeginElement(key, timestamp);
        _function.ProcessElement(value, this, Collector);
    }

    protected override void InvokeOnTimer(long time) => _function.OnTimer(time, this, Collector);
}
