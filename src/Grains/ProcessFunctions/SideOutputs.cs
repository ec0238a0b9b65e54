using Sluice.Operators;

namespace Sluice.ProcessFunctions;

/// <summary>One side output read by the pipeline: its tag and the chain its records go to.</summary>
internal abstract class SideOutput;

internal sealed class SideOutput<T>(OutputTag<T> tag, IRecordSink<T> sink) : SideOutput
{
    public OutputTag<T> Tag => tag;

    public IRecordSink<T> Sink => sink;
}

/// <summary>Routes side-output records to every chain that reads their tag; a scan over a few entries, no allocation.</summary>
internal sealed class SideOutputs(SideOutput[] outputs, OperatorCounters counters)
{
    public static SideOutputs None { get; } = new([], new OperatorCounters());

    public void Emit<T>(OutputTag<T> tag, T value, long timestamp)
    {
        foreach (var output in outputs)
        {
            if (output is SideOutput<T> typed && typed.Tag.Equals(tag))
            {
                counters.RecordsOut++;
                typed.Sink.Push(value, timestamp);
            }
        }
    }
}
