using Sluice.Operators;
using Sluice.State;
using Sluice.State.Serialization;
using Sluice.Tasks;

namespace Sluice.ProcessFunctions;

/// <summary>
/// Runs a <see cref="KeyedBroadcastProcessFunction{TKey,TIn,TBroadcast,TOut}"/> for one key group (Flink's
/// <c>CoBroadcastWithKeyedOperator</c>): keyed records with their key's state and timers and a read-only view of the
/// broadcast state; broadcast records (every one reaches every key group) with read-write broadcast state. The broadcast
/// state is this key group's copy and goes into its snapshot beside the keyed state, so a restored or moved key group
/// has the rules it had.
/// </summary>
internal sealed class KeyedBroadcastProcessOperator<TIn, TKey, TBroadcast, TOut>
    : ProcessOperatorBase<TKey, TOut>, IKeyedOperator<TIn, TKey>, IBroadcastInputOperator<TBroadcast>, IBroadcastOnTimerContext<TKey>, IBroadcastContext<TKey>
    where TKey : notnull
{
    private readonly KeyedBroadcastProcessFunction<TKey, TIn, TBroadcast, TOut> _function;
    private readonly BroadcastStates _broadcast;
    private readonly VoidNamespace _void = VoidNamespace.Instance;

    public KeyedBroadcastProcessOperator(
        string name,
        KeyedBroadcastProcessFunction<TKey, TIn, TBroadcast, TOut> function,
        IReadOnlyList<StateDescriptor> broadcastDescriptors,
        IRecordSink<TOut> output,
        IKeyedStateBackend<TKey> backend,
        IStateSerializerProvider serializers,
        OperatorCounters counters,
        UserErrorReporter errors,
        SideOutputs? sideOutputs = null)
        : base(name, output, backend, serializers, counters, errors, sideOutputs)
    {
        _function = function;
        _broadcast = new BroadcastStates(broadcastDescriptors, serializers, name);
        function.Open(State);
    }

    protected override string SchemaKind => "broadcast-process";

    public override int StateEntries => base.StateEntries + _broadcast.Entries;

    public void ProcessElement(TKey key, TIn value, long timestamp)
    {
        BeginElement(key, timestamp);
        _function.ProcessElement(value, this, Collector);
    }

    public void ProcessBroadcastElement(TBroadcast value, long timestamp)
    {
        BeginElement(timestamp);
        _function.ProcessBroadcastElement(value, this, Collector);
    }

    protected override void InvokeOnTimer(long time) => _function.OnTimer(time, this, Collector);

    IReadOnlyBroadcastState<TUserKey, TUserValue> IReadOnlyBroadcastContext<TKey>.GetBroadcastState<TUserKey, TUserValue>(MapStateDescriptor<TUserKey, TUserValue> descriptor) =>
        _broadcast.Get(descriptor).ReadOnly;

    IBroadcastState<TUserKey, TUserValue> IBroadcastContext<TKey>.GetBroadcastState<TUserKey, TUserValue>(MapStateDescriptor<TUserKey, TUserValue> descriptor) =>
        _broadcast.Get(descriptor);

    void IBroadcastContext<TKey>.ApplyToKeyedState(StateDescriptor descriptor, Action<TKey> function)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        ArgumentNullException.ThrowIfNull(function);
        Backend.ApplyToAllKeys(descriptor.Name, _void, new KeyedStateAction(function));
    }

    protected override BroadcastStateSnapshot? SnapshotOperatorState() => _broadcast.Snapshot();

    protected override void RestoreOperatorState(BroadcastStateSnapshot? snapshot) => _broadcast.Restore(snapshot);

    private sealed class KeyedStateAction(Action<TKey> function) : IKeyedStateFunction<TKey>
    {
        public void Process(TKey key) => function(key);
    }
}
