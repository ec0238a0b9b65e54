using System.Diagnostics;
using Sluice.State;
using Xunit.Abstractions;

namespace Sluice.Tests.State;

/// <summary>State time-to-live in processing and event time: never returned once expired, and memory bounded by cleanup.</summary>
public sealed class StateTtlTests(ITestOutputHelper output)
{
    private long _now;

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void A_value_is_never_returned_after_its_time_to_live_even_before_cleanup(StateBackend kind)
    {
        var (backend, context) = Create(kind);
        var state = context.GetState(new ValueStateDescriptor<long>("v") { Ttl = StateTtlConfig.ProcessingTime(TimeSpan.FromMilliseconds(100)) with { IncrementalCleanupSize = 1 } });
        backend.SetCurrentKey("a");
        state.Update(1);
        _now = 99;
        Assert.True(state.TryGetValue(out _));
        _now = 100;
        Assert.False(state.TryGetValue(out _));
        Assert.Equal(0, state.Value());
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Reading_renews_the_time_to_live_only_with_OnReadAndWrite(StateBackend kind)
    {
        var (backend, context) = Create(kind);
        var ttl = StateTtlConfig.ProcessingTime(TimeSpan.FromMilliseconds(100));
        var onWrite = context.GetState(new ValueStateDescriptor<long>("write") { Ttl = ttl });
        var onRead = context.GetState(new ValueStateDescriptor<long>("read") { Ttl = ttl with { UpdateType = TtlUpdateType.OnReadAndWrite } });
        backend.SetCurrentKey("a");
        onWrite.Update(1);
        onRead.Update(1);
        _now = 80;
        Assert.True(onWrite.TryGetValue(out _));
        Assert.True(onRead.TryGetValue(out _));
        _now = 150;
        Assert.False(onWrite.TryGetValue(out _));
        Assert.True(onRead.TryGetValue(out _));
        onWrite.Update(2); // a write restarts it
        _now = 240;
        Assert.True(onWrite.TryGetValue(out _));
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void In_event_time_a_value_expires_when_the_watermark_passes_its_timestamp_plus_the_time_to_live(StateBackend kind)
    {
        var (backend, context) = Create(kind);
        var state = context.GetReducingState(new ReducingStateDescriptor<long>("sum", (a, b) => a + b) { Ttl = StateTtlConfig.EventTime(TimeSpan.FromSeconds(1)) });
        _now = 1_000_000; // processing time plays no part
        backend.SetCurrentKey("a");
        backend.Time.CurrentTimestamp = 5_000;
        state.Add(2);
        backend.Time.Watermark = 5_999;
        Assert.True(state.TryGet(out var sum) && sum == 2);
        backend.Time.Watermark = 6_000;
        Assert.False(state.TryGet(out _));

        // A late record (behind the watermark) gets the full time-to-live from the watermark.
        backend.Time.CurrentTimestamp = 10;
        state.Add(3);
        backend.Time.Watermark = 6_999;
        Assert.True(state.TryGet(out sum) && sum == 3);
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void List_elements_and_map_entries_expire_one_by_one(StateBackend kind)
    {
        var (backend, context) = Create(kind);
        var ttl = StateTtlConfig.ProcessingTime(TimeSpan.FromMilliseconds(100));
        var list = context.GetListState(new ListStateDescriptor<int>("list") { Ttl = ttl });
        var map = context.GetMapState(new MapStateDescriptor<string, int>("map") { Ttl = ttl });
        backend.SetCurrentKey("a");
        list.Add(1);
        map.Put("x", 1);
        _now = 50;
        list.Add(2);
        map.Put("y", 2);
        _now = 120;
        Assert.Equal([2], list.Get());
        Assert.False(map.Contains("x"));
        Assert.Equal([new("y", 2)], map.Entries());
        _now = 150;
        Assert.Empty(list.Get());
        Assert.True(map.IsEmpty());
        Assert.Equal(0, backend.Entries);
    }

    [Theory]
    [MemberData(nameof(StateBackendCases.All), MemberType = typeof(StateBackendCases))]
    public void Expired_entries_are_not_written_to_a_snapshot(StateBackend kind)
    {
        var (backend, context) = Create(kind);
        var ttl = StateTtlConfig.ProcessingTime(TimeSpan.FromMilliseconds(100)) with { IncrementalCleanupSize = 1 };
        var value = context.GetState(new ValueStateDescriptor<long>("v") { Ttl = ttl });
        var list = context.GetListState(new ListStateDescriptor<long>("l") { Ttl = ttl });
        for (var i = 0; i < 100; i++)
        {
            _now = i;
            backend.SetCurrentKey($"k{i}");
            value.Update(i);
            list.Add(i);
        }

        _now = 150; // k0..k50 expired
        var (restored, restoredContext) = Create(kind);
        restored.Restore(KeyedStateTests.Deserialize(KeyedStateTests.Serialize(backend.Snapshot())));
        restoredContext.GetState(new ValueStateDescriptor<long>("v") { Ttl = ttl });
        restoredContext.GetListState(new ListStateDescriptor<long>("l") { Ttl = ttl });
        Assert.Equal(2 * 49, restored.Entries);
        Assert.Equal(2 * 49, backend.Entries);
    }

    public static TheoryData<StateBackend, TtlTimeCharacteristic> BackendsAndClocks()
    {
        var data = new TheoryData<StateBackend, TtlTimeCharacteristic>();
        foreach (var backend in StateBackendCases.All)
        {
            data.Add(backend, TtlTimeCharacteristic.ProcessingTime);
            data.Add(backend, TtlTimeCharacteristic.EventTime);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(BackendsAndClocks))]
    public void A_million_distinct_keys_that_each_expire_leave_the_live_entry_count_bounded(StateBackend kind, TtlTimeCharacteristic characteristic)
    {
        const int Keys = 1_000_000;
        const int TtlMs = 1_000;
        var eventTime = characteristic == TtlTimeCharacteristic.EventTime;
        var backend = StateBackendCases.Create<long>(kind, () => _now);
        var context = new KeyedRuntimeContext<long>(backend, StateBackendCases.Serializers);
        var state = context.GetState(new ValueStateDescriptor<long>("last") { Ttl = new StateTtlConfig(TimeSpan.FromMilliseconds(TtlMs), characteristic) });
        var stopwatch = Stopwatch.StartNew();
        var peak = 0;
        for (long key = 0; key < Keys; key++)
        {
            // One key per millisecond of the state's clock (the other one stands still): about TtlMs keys are unexpired.
            if (eventTime)
            {
                backend.Time.CurrentTimestamp = key;
                backend.Time.Watermark = key;
            }
            else
            {
                _now = key;
            }

            backend.SetCurrentKey(key);
            state.Update(key);
            if (key % 1_000 == 0)
            {
                peak = Math.Max(peak, backend.Entries);
            }
        }

        output.WriteLine($"{characteristic}: {Keys:N0} keys in {stopwatch.ElapsedMilliseconds} ms, peak live entries {peak:N0}, at the end {backend.Entries:N0}");
        Assert.InRange(peak, TtlMs, 4 * TtlMs);
        Assert.InRange(backend.Entries, TtlMs, 4 * TtlMs);

        // Once the last key expired too, a snapshot writes nothing and leaves nothing behind.
        if (eventTime)
        {
            backend.Time.Watermark = Keys + TtlMs;
        }
        else
        {
            _now = Keys + TtlMs;
        }

        var snapshot = KeyedStateTests.Deserialize(KeyedStateTests.Serialize(backend.Snapshot()));
        Assert.Equal(0, backend.Entries);
        var (restored, restoredContext) = Create(kind);
        restored.Restore(snapshot);
        restoredContext.GetState(new ValueStateDescriptor<long>("last") { Ttl = new StateTtlConfig(TimeSpan.FromMilliseconds(TtlMs), characteristic) });
        Assert.Equal(0, restored.Entries);
    }

    private (IKeyedStateBackend<string> Backend, IKeyedRuntimeContext Context) Create(StateBackend kind)
    {
        var backend = StateBackendCases.Create<string>(kind, () => _now);
        return (backend, new KeyedRuntimeContext<string>(backend, StateBackendCases.Serializers));
    }
}
