using Sluice.State;
using Sluice.State.Serialization;

namespace Sluice.Windows;

/// <summary>
/// The keyed state a window function reaches through its context (Flink's <c>ProcessWindowFunction.Context</c>):
/// <see cref="Window"/> is per key and window (the firing window's namespace, under the state's own name prefixed so it
/// never collides with global state) and is cleared with the window's contents when the window is cleaned up;
/// <see cref="Global"/> is per key across all windows. Both live in the operator's state backend, so they are
/// checkpointed, restored and migrated with the key group.
/// </summary>
internal sealed class WindowProcessState<TKey>
    where TKey : notnull
{
    private readonly PerWindowState _window;

    public WindowProcessState(IKeyedStateBackend<TKey> backend, IStateSerializerProvider serializers, bool mergingWindows)
    {
        _window = new PerWindowState(backend, serializers.Get<TimeWindow>(), mergingWindows);
        Global = new KeyedRuntimeContext<TKey>(backend, serializers);
    }

    public IKeyedRuntimeContext Window => _window;

    public IKeyedRuntimeContext Global { get; }

    public void SetWindow(TimeWindow window) => _window.SetWindow(window);

    /// <summary>Clears the current key's per-window state of <paramref name="window"/> (every state the function asked for).</summary>
    public void ClearWindow(TimeWindow window) => _window.Clear(window);

    private sealed class PerWindowState(IKeyedStateBackend<TKey> backend, IStateSerializer<TimeWindow> namespaces, bool merging) : IKeyedRuntimeContext
    {
        private const string Prefix = "_window-state/";
        private readonly Dictionary<string, IInternalKvState<TimeWindow>> _states = new(StringComparer.Ordinal);
        private TimeWindow _window;

        public void SetWindow(TimeWindow window)
        {
            _window = window;
            foreach (var state in _states.Values)
            {
                state.SetCurrentNamespace(window);
            }
        }

        public void Clear(TimeWindow window)
        {
            foreach (var state in _states.Values)
            {
                state.SetCurrentNamespace(window);
                state.Clear();
            }
        }

        public IValueState<T> GetState<T>(ValueStateDescriptor<T> descriptor) =>
            Get(descriptor, name => backend.GetValueState(namespaces, new ValueStateDescriptor<T>(name) { Ttl = descriptor.Ttl }));

        public IListState<T> GetListState<T>(ListStateDescriptor<T> descriptor) =>
            Get(descriptor, name => backend.GetListState(namespaces, new ListStateDescriptor<T>(name) { Ttl = descriptor.Ttl }));

        public IMapState<TUserKey, TUserValue> GetMapState<TUserKey, TUserValue>(MapStateDescriptor<TUserKey, TUserValue> descriptor)
            where TUserKey : notnull =>
            Get(descriptor, name => backend.GetMapState(namespaces, new MapStateDescriptor<TUserKey, TUserValue>(name) { Ttl = descriptor.Ttl }));

        public IReducingState<T> GetReducingState<T>(ReducingStateDescriptor<T> descriptor) =>
            Get(descriptor, name => backend.GetReducingState(namespaces, new ReducingStateDescriptor<T>(name, descriptor.Reduce) { Ttl = descriptor.Ttl }));

        public IAggregatingState<TIn, TOut> GetAggregatingState<TIn, TAcc, TOut>(AggregatingStateDescriptor<TIn, TAcc, TOut> descriptor) =>
            Get(descriptor, name => backend.GetAggregatingState(namespaces, new AggregatingStateDescriptor<TIn, TAcc, TOut>(name, descriptor.Aggregate) { Ttl = descriptor.Ttl }));

        private TState Get<TState>(StateDescriptor descriptor, Func<string, TState> create)
            where TState : class, IInternalKvState<TimeWindow>
        {
            if (merging)
            {
                // As in Flink: merged windows would need their per-window state merged, which a user state cannot promise.
                throw new NotSupportedException($"Per-window state ({descriptor}) is not supported with merging windows (sessions); use global state.");
            }

            if (!_states.TryGetValue(descriptor.Name, out var existing))
            {
                existing = create(Prefix + descriptor.Name);
                _states.Add(descriptor.Name, existing);
            }

            var state = existing as TState ?? throw new InvalidOperationException(
                $"Window state '{descriptor.Name}' already exists with another kind or type; {descriptor} asks for {typeof(TState).Name}.");
            state.SetCurrentNamespace(_window);
            return state;
        }
    }
}
