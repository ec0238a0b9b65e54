namespace Sluice;

/// <summary>Settings of one pipeline; fixed once it has run (key groups depend on <see cref="MaxParallelism"/>).</summary>
public sealed class PipelineOptions
{
    public const int MaxSupportedParallelism = 32_768;

    /// <summary>Key groups per keyed stage (Flink's max parallelism); each key group is one grain. 1..32768.</summary>
    public int MaxParallelism { get; set; } = 128;

    /// <summary>Records per exchange batch before it is sent.</summary>
    public int BufferSize { get; set; } = 1_000;

    /// <summary>Longest a record waits in an exchange buffer before the batch is sent anyway.</summary>
    public TimeSpan BufferTimeout { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>How often a source partition sends a bare watermark when no data carries it (Flink's auto-watermark interval).</summary>
    public TimeSpan WatermarkInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How often a keyed stage sends a bare watermark on each of its output channels. There are
    /// upstream x downstream channels, so this is kept coarser than <see cref="WatermarkInterval"/>.
    /// </summary>
    public TimeSpan ExchangeWatermarkInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Records a source partition reads per pull.</summary>
    public int SourceBatchSize { get; set; } = 4_096;

    /// <summary>Batches that may queue on one exchange channel before the sender waits (backpressure).</summary>
    public int MaxQueuedBatchesPerChannel { get; set; } = 8;

    /// <summary>How often a checkpoint starts (aligned barriers, state to the checkpoint store); null: no checkpoints.</summary>
    public TimeSpan? CheckpointInterval { get; set; }

    /// <summary>A checkpoint that has not completed after this long fails and is counted.</summary>
    public TimeSpan CheckpointTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// When the pipeline starts, resume from the newest complete checkpoint in the store (state and source
    /// positions). Turn off when the sources do not outlive the process (an embedded broker).
    /// </summary>
    public bool ResumeFromCheckpoint { get; set; } = true;

    /// <summary>
    /// Start from this savepoint (its name) instead of the newest checkpoint, ignoring the checkpoints of earlier runs.
    /// Once the run has completed a checkpoint of its own, restarts restore that one.
    /// </summary>
    public string? StartFromSavepoint { get; set; }

    /// <summary>Completed checkpoints kept in the store; older ones are deleted (savepoints never are).</summary>
    public int RetainedCheckpoints { get; set; } = 3;

    /// <summary>Where keyed stages keep their state (window contents and keyed state); fixed once a checkpoint exists.</summary>
    public State.StateBackend StateBackend { get; set; } = State.StateBackend.Heap;

    /// <summary>How a checkpointed pipeline restarts after a failure (a task failed, a silo died, state was lost).</summary>
    public RestartStrategyOptions Restart { get; } = new();

    /// <summary>
    /// What a throwing user function does, unless its operator says otherwise: <see cref="ErrorPolicy.Fail"/> (the default)
    /// fails the task, so the pipeline restarts from its last checkpoint (or, without checkpoints, is FAILED);
    /// <see cref="ErrorPolicy.SkipAndCount"/> drops the record and counts it.
    /// </summary>
    public ErrorPolicy OnError { get; set; } = ErrorPolicy.Fail;
}

/// <summary>
/// Exponential-delay restarts (Flink's exponential-delay strategy): the n-th restart in a row waits
/// <see cref="InitialBackoff"/> x <see cref="BackoffMultiplier"/>^(n-1), at most <see cref="MaxBackoff"/>. A completed
/// checkpoint ends the run of failures. After <see cref="MaxRestarts"/> restarts in a row the pipeline is FAILED.
/// </summary>
public sealed class RestartStrategyOptions
{
    public int MaxRestarts { get; set; } = 10;

    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    public double BackoffMultiplier { get; set; } = 2.0;

    /// <summary>The wait before the <paramref name="restartInRow"/>-th restart in a row (1-based).</summary>
    public TimeSpan BackoffBefore(int restartInRow)
    {
        var factor = Math.Pow(Math.Max(1.0, BackoffMultiplier), Math.Max(0, restartInRow - 1));
        var ms = Math.Min(MaxBackoff.TotalMilliseconds, InitialBackoff.TotalMilliseconds * factor);
        return TimeSpan.FromMilliseconds(Math.Max(0, ms));
    }
}
