using Sluice.Functions;
using Sluice.State;
using Sluice.Tests.State;

namespace Sluice.Tests.QueryableState;

/// <summary>What a live state query reads from a state backend, and that reading changes nothing.</summary>
public sealed class QueryableStateReadTests
{
    private long _now;

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void A_query_reads_any_key_without_moving_the_current_key_renewing_a_time_to_live_or_removing_expired_values(StateBackend kind)
    {
        var backend = StateBackendCases.Create<string>(kind, () => _now);
        var context = new KeyedRuntimeContext<string>(backend, StateBackendCases.Serializers);
        var ttl = StateTtlConfig.ProcessingTime(TimeSpan.FromMilliseconds(100)) with { UpdateType = TtlUpdateType.OnReadAndWrite };
        var state = context.GetState(new ValueStateDescriptor<long>("v") { Ttl = ttl, QueryableName = "values" });
        backend.SetCurrentKey("a");
        state.Update(1);
        backend.SetCurrentKey("b");
        state.Update(2);

        _now = 90;
        Assert.True(backend.TryQuery("values", "a", out var a));
        Assert.Equal(1L, a);
        Assert.Equal("b", backend.CurrentKey);

        // The read at 90 renewed nothing (a function's read would have, with OnReadAndWrite): at 100 "a" has expired.
        _now = 100;
        Assert.False(backend.TryQuery("values", "a", out _));
        Assert.Equal(2, backend.Entries); // and the query removed nothing: only the state's own accesses clean up
        Assert.False(backend.TryQuery("values", "nobody", out _));
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Each_kind_of_state_answers_with_its_public_value_and_only_named_states_are_queryable(StateBackend kind)
    {
        var backend = StateBackendCases.Create<string>(kind);
        var context = new KeyedRuntimeContext<string>(backend, StateBackendCases.Serializers);
        var list = context.GetListState(new ListStateDescriptor<int>("list") { QueryableName = "list" });
        var map = context.GetMapState(new MapStateDescriptor<string, int>("map") { QueryableName = "map" });
        var reducing = context.GetReducingState(new ReducingStateDescriptor<int>("sum", (x, y) => x + y) { QueryableName = "sum" });
        var average = context.GetAggregatingState(new AggregatingStateDescriptor<int, (int Sum, int Count), double>("avg", new Average()) { QueryableName = "avg" });
        var hidden = context.GetState(new ValueStateDescriptor<int>("hidden"));
        backend.SetCurrentKey("k");
        list.Add(1);
        list.Add(2);
        map.Put("x", 7);
        reducing.Add(3);
        reducing.Add(4);
        average.Add(2);
        average.Add(5);
        hidden.Update(9);

        Assert.Equal(["avg", "list", "map", "sum"], backend.QueryableNames.Order());
        Assert.True(backend.TryQuery("list", "k", out var l) && l is IReadOnlyList<int> ints && ints.SequenceEqual([1, 2]));
        Assert.True(backend.TryQuery("map", "k", out var m) && m is IReadOnlyDictionary<string, int> d && d["x"] == 7 && d.Count == 1);
        Assert.True(backend.TryQuery("sum", "k", out var s) && s is 7);
        Assert.True(backend.TryQuery("avg", "k", out var avg) && avg is 3.5);

        // A copy: changing what the query returned does not change the state.
        ((List<int>)l!).Add(99);
        Assert.Equal([1, 2], list.Get());
        Assert.Throws<InvalidOperationException>(() => backend.TryQuery("hidden", "k", out _));
    }

    [Fact]
    public void Two_states_cannot_share_a_queryable_name()
    {
        var backend = StateBackendCases.Create<string>(StateBackend.Heap);
        var context = new KeyedRuntimeContext<string>(backend, StateBackendCases.Serializers);
        context.GetState(new ValueStateDescriptor<int>("a") { QueryableName = "same" });
        var ex = Assert.Throws<InvalidOperationException>(() => context.GetState(new ValueStateDescriptor<int>("b") { QueryableName = "same" }));
        Assert.Contains("'same'", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new ValueStateDescriptor<int>("c") { QueryableName = "has/slash" });
    }

    private sealed class Average : IAggregateFunction<int, (int Sum, int Count), double>
    {
        public (int Sum, int Count) CreateAccumulator() => (0, 0);

        public (int Sum, int Count) Add(int value, (int Sum, int Count) accumulator) => (accumulator.Sum + value, accumulator.Count + 1);

        public double GetResult((int Sum, int Count) accumulator) => (double)accumulator.Sum / accumulator.Count;

        public (int Sum, int Count) Merge((int Sum, int Count) a, (int Sum, int Count) b) => (a.Sum + b.Sum, a.Count + b.Count);
    }
}
