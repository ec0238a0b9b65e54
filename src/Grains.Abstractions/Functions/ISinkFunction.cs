namespace Sluice.Functions;

/// <summary>
/// Writes a pipeline's output. One instance per sink task; calls on one instance never overlap.
/// </summary>
public interface ISinkFunction<in T>
{
    void Write(T value, SinkContext context);

    /// <summary>Called when the task's watermark advances; lets a sink close time-based buckets.</summary>
    void OnWatermark(long watermark) { }

    /// <summary>
    /// Called at each checkpoint barrier, before the task acknowledges the checkpoint: make everything written so
    /// far durable (at-least-once sinks flush here).
    /// </summary>
    void Flush() { }

    /// <summary>Called once when every input of the task has ended (bounded sources only).</summary>
    void Finish() { }
}

/// <summary>Where a sink task sits and the timestamp of the record being written.</summary>
public readonly record struct SinkContext(string PipelineId, int TaskIndex, long Timestamp, long CurrentWatermark);
