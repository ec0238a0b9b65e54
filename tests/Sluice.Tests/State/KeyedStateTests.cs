using Sluice.Functions;
using Sluice.State;
using Sluice.State.Serialization;
using Sluice.State.Snapshots;
using Sluice.Windows;

namespace Sluice.Tests.State;

/// <summary>The keyed state API per state kind, through the backend interface, for every backend.</summary>
public sealed class KeyedStateTests
{
    private static readonly ValueStateDescriptor<long> Count = new("count");
    private static readonly ListStateDescriptor<string> Seen = new("seen");
    private static readonly MapStateDescriptor<string, int> Totals = new("totals");
    private static readonly ReducingStateDescriptor<long> Max = new("max", Math.Max);
    private static readonly AggregatingStateDescriptor<long, long, long> Sum = new("sum", Aggregates.Sum<long>(v => v));

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Value_state_keeps_one_value_per_key(StateBackend kind)
    {
        var (backend, context) = Create(kind);
        var count = context.GetState(Count);
        backend.SetCurrentKey("a");
        Assert.False(count.TryGetValue(out _));
        Assert.Equal(0, count.Value());
        count.Update(1);
        backend.SetCurrentKey("b");
        count.Update(10);
        backend.SetCurrentKey("a");
        count.Update(count.Value() + 1);

        Assert.Equal(2, count.Value());
        backend.SetCurrentKey("b");
        Assert.True(count.TryGetValue(out var b) && b == 10);
        count.Clear();
        Assert.False(count.TryGetValue(out _));
        Assert.Equal(1, backend.Entries);
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void List_state_appends_in_order_and_update_replaces(StateBackend kind)
    {
        var (backend, context) = Create(kind);
        var seen = context.GetListState(Seen);
        backend.SetCurrentKey("a");
        Assert.Empty(seen.Get());
        seen.Add("x");
        seen.Add("y");
        backend.SetCurrentKey("b");
        seen.Add("z");
        backend.SetCurrentKey("a");
        Assert.Equal(["x", "y"], seen.Get());

        seen.Update(["q"]);
        Assert.Equal(["q"], seen.Get());
        seen.Update([]);
        Assert.Empty(seen.Get());
        Assert.Equal(1, backend.Entries);
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Map_state_puts_gets_and_removes_entries_per_key(StateBackend kind)
    {
        var (backend, context) = Create(kind);
        var totals = context.GetMapState(Totals);
        backend.SetCurrentKey("a");
        Assert.True(totals.IsEmpty());
        totals.Put("eur", 5);
        totals.Put("usd", 7);
        totals.Put("eur", 6);
        backend.SetCurrentKey("b");
        Assert.False(totals.Contains("eur"));
        backend.SetCurrentKey("a");

        Assert.True(totals.TryGetValue("eur", out var eur) && eur == 6);
        Assert.Equal([new("eur", 6), new("usd", 7)], totals.Entries().OrderBy(e => e.Key));
        totals.Remove("eur");
        totals.Remove("usd");
        Assert.True(totals.IsEmpty());
        Assert.Equal(0, backend.Entries);
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Reducing_and_aggregating_state_fold_what_is_added(StateBackend kind)
    {
        var (backend, context) = Create(kind);
        var max = context.GetReducingState(Max);
        var sum = context.GetAggregatingState(Sum);
        backend.SetCurrentKey("a");
        Assert.False(max.TryGet(out _));
        Assert.False(sum.TryGet(out _));
        foreach (var v in new long[] { 3, 9, 4 })
        {
            max.Add(v);
            sum.Add(v);
        }

        Assert.True(max.TryGet(out var m) && m == 9);
        Assert.True(sum.TryGet(out var s) && s == 16);
        sum.Clear();
        Assert.False(sum.TryGet(out _));
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Every_kind_survives_a_snapshot_restored_before_or_after_its_state_is_created(StateBackend kind)
    {
        var (backend, context) = Create(kind);
        Fill(backend, context);
        var bytes = Serialize(backend.Snapshot());

        var (early, earlyContext) = Create(kind);
        earlyContext.GetState(Count);
        early.Restore(Deserialize(bytes));
        var (late, lateContext) = Create(kind);
        late.Restore(Deserialize(bytes));

        foreach (var (restored, restoredContext) in new[] { (early, earlyContext), (late, lateContext) })
        {
            restored.SetCurrentKey("k3");
            Assert.Equal(3, restoredContext.GetState(Count).Value());
            Assert.Equal(["3", "x"], restoredContext.GetListState(Seen).Get());
            Assert.True(restoredContext.GetMapState(Totals).TryGetValue("t", out var t) && t == 3);
            Assert.True(restoredContext.GetReducingState(Max).TryGet(out var m) && m == 3);
            Assert.True(restoredContext.GetAggregatingState(Sum).TryGet(out var s) && s == 6);
            Assert.Equal(backend.Entries, restored.Entries);
            Assert.Equal(bytes, Serialize(restored.Snapshot()));
        }
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Unchanged_state_snapshots_to_the_same_bytes_so_incremental_checkpoints_reuse_them(StateBackend kind)
    {
        var (backend, context) = Create(kind);
        Fill(backend, context);
        var first = Serialize(backend.Snapshot());
        Assert.Equal(first, Serialize(backend.Snapshot()));

        backend.SetCurrentKey("k1");
        context.GetState(Count).Update(100);
        Assert.NotEqual(first, Serialize(backend.Snapshot()));
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void A_name_is_one_state_and_a_snapshot_of_another_type_or_table_format_is_refused(StateBackend kind)
    {
        var (backend, context) = Create(kind);
        Assert.Same(context.GetState(Count), context.GetState(new ValueStateDescriptor<long>("count")));
        Assert.Throws<InvalidOperationException>(() => context.GetListState(new ListStateDescriptor<long>("count")));

        backend.SetCurrentKey("a");
        context.GetState(Count).Update(1);
        var snapshot = Deserialize(Serialize(backend.Snapshot()));
        var (other, otherContext) = Create(kind);
        otherContext.GetState(new ValueStateDescriptor<string>("count"));
        var error = Assert.Throws<SnapshotSchemaMismatchException>(() => other.Restore(snapshot));
        Assert.Contains("'count'", error.Message, StringComparison.Ordinal);

        var (lazy, lazyContext) = Create(kind);
        lazy.Restore(snapshot);
        Assert.Throws<SnapshotSchemaMismatchException>(() => lazyContext.GetState(new ValueStateDescriptor<string>("count")));

        var (unknown, _) = Create(kind);
        snapshot.Format = "unknown-format";
        Assert.Throws<SnapshotSchemaMismatchException>(() => unknown.Restore(snapshot));
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Namespaces_merge_into_one_and_keys_are_listed_per_namespace(StateBackend kind)
    {
        var backend = StateBackendCases.Create<string>(kind);
        var windows = StateBackendCases.Serializers.Get<TimeWindow>();
        var sums = backend.GetAggregatingState(windows, Sum);
        var lists = backend.GetListState(windows, Seen);
        TimeWindow w1 = new(0, 10), w2 = new(5, 15), merged = new(0, 15);
        backend.SetCurrentKey("a");
        foreach (var (window, value) in new[] { (w1, 1L), (w2, 2L), (w2, 4L) })
        {
            sums.SetCurrentNamespace(window);
            sums.Add(value);
            lists.SetCurrentNamespace(window);
            lists.Add(value.ToString());
        }

        backend.SetCurrentKey("b");
        sums.SetCurrentNamespace(w1);
        sums.Add(8);
        Assert.Equal(["a", "b"], backend.GetKeys(Sum.Name, w1).Order());

        backend.SetCurrentKey("a");
        sums.MergeNamespaces(merged, [w1, w2]);
        lists.MergeNamespaces(merged, [w1, w2]);
        sums.SetCurrentNamespace(merged);
        lists.SetCurrentNamespace(merged);
        Assert.True(sums.TryGet(out var total) && total == 7);
        Assert.Equal(["1", "2", "4"], lists.Get());
        Assert.Equal(["b"], backend.GetKeys(Sum.Name, w1));
        Assert.Empty(backend.GetKeys(Sum.Name, w2));

        var cleared = new List<string>();
        backend.ApplyToAllKeys(Sum.Name, w1, new ClearAll(sums, w1, cleared));
        Assert.Equal(["b"], cleared);
        Assert.Empty(backend.GetKeys(Sum.Name, w1));
    }

    private sealed class ClearAll(IInternalAggregatingState<TimeWindow, long, long, long> state, TimeWindow window, List<string> seen) : IKeyedStateFunction<string>
    {
        public void Process(string key)
        {
            seen.Add(key);
            state.SetCurrentNamespace(window);
            state.Clear();
        }
    }

    private static void Fill(IKeyedStateBackend<string> backend, IKeyedRuntimeContext context)
    {
        for (var i = 1; i <= 3; i++)
        {
            backend.SetCurrentKey($"k{i}");
            context.GetState(Count).Update(i);
            context.GetListState(Seen).Add(i.ToString());
            context.GetListState(Seen).Add("x");
            context.GetMapState(Totals).Put("t", i);
            context.GetReducingState(Max).Add(i);
            for (var j = 1; j <= i; j++)
            {
                context.GetAggregatingState(Sum).Add(j);
            }
        }
    }

    private static (IKeyedStateBackend<string> Backend, IKeyedRuntimeContext Context) Create(StateBackend kind, Func<long>? clock = null)
    {
        var backend = StateBackendCases.Create<string>(kind, clock);
        return (backend, new KeyedRuntimeContext<string>(backend, StateBackendCases.Serializers));
    }

    internal static byte[] Serialize(KeyedStateSnapshot snapshot) =>
        StateBackendCases.Serializers.Get<KeyedStateSnapshot>().SerializeToArray(snapshot);

    internal static KeyedStateSnapshot Deserialize(byte[] bytes) =>
        StateBackendCases.Serializers.Get<KeyedStateSnapshot>().Deserialize(bytes);
}
