using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.State;

namespace Sluice.Tests.ProcessFunctions;

/// <summary>One command for <see cref="ScriptedFunction"/>: add a value to the key's state, or register or delete a timer.</summary>
public readonly record struct Command(string Key, string Op, long Arg)
{
    public static Command Add(string key, long value) => new(key, "add", value);

    public static Command EventTimer(string key, long time) => new(key, "et", time);

    public static Command ProcessingTimer(string key, long time) => new(key, "pt", time);

    public static Command DeleteEventTimer(string key, long time) => new(key, "-et", time);

    public static Command DeleteProcessingTimer(string key, long time) => new(key, "-pt", time);

    /// <summary>Sends <paramref name="value"/> to the side output <see cref="ScriptedFunction.Side"/>.</summary>
    public static Command Side(string key, long value) => new(key, "side", value);
}

/// <summary>
/// Keeps a count (value state), the values (list state) and how often each value came (map state) per key, and
/// registers and deletes timers as told. Emits a line per added value and per fired timer describing the key's state.
/// </summary>
internal sealed class ScriptedFunction : KeyedProcessFunction<string, Command, string>
{
    private IValueState<long> _count = null!;
    private IListState<long> _values = null!;
    private IMapState<long, int> _seen = null!;

    public static OutputTag<long> Side { get; } = new("side");

    /// <summary>When set, a fired event-time timer registers another this far after it (a timer chain).</summary>
    public long ChainEvery { get; init; }

    public override void Open(IKeyedRuntimeContext state)
    {
        _count = state.GetState(new ValueStateDescriptor<long>("count"));
        _values = state.GetListState(new ListStateDescriptor<long>("values"));
        _seen = state.GetMapState(new MapStateDescriptor<long, int>("seen"));
    }

    public override void ProcessElement(Command value, IKeyedProcessContext<string> ctx, ICollector<string> output)
    {
        switch (value.Op)
        {
            case "add":
                _count.Update(_count.Value() + 1);
                _values.Add(value.Arg);
                _seen.Put(value.Arg, _seen.TryGetValue(value.Arg, out var n) ? n + 1 : 1);
                output.Collect($"{ctx.CurrentKey} {Describe()}");
                break;
            case "et":
                ctx.Timers.RegisterEventTimeTimer(value.Arg);
                break;
            case "pt":
                ctx.Timers.RegisterProcessingTimeTimer(value.Arg);
                break;
            case "-et":
                ctx.Timers.DeleteEventTimeTimer(value.Arg);
                break;
            case "side":
                ctx.Output(Side, value.Arg);
                break;
            case "-pt":
                ctx.Timers.DeleteProcessingTimeTimer(value.Arg);
                break;
        }
    }

    public override void OnTimer(long time, IOnTimerContext<string> ctx, ICollector<string> output)
    {
        output.Collect($"{ctx.TimeDomain}:{ctx.CurrentKey}@{time} {Describe()}");
        if (ChainEvery > 0 && ctx.TimeDomain == TimeDomain.EventTime)
        {
            ctx.Timers.RegisterEventTimeTimer(time + ChainEvery);
        }
    }

    private string Describe() =>
        $"count={_count.Value()} values=[{string.Join(",", _values.Get())}] seen={{{string.Join(",", _seen.Entries().OrderBy(e => e.Key).Select(e => $"{e.Key}:{e.Value}"))}}}";
}
