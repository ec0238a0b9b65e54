using Sluice.Exchange;

namespace Sluice.KeyGroups;

/// <summary>
/// One task of a stage: a key group of a keyed stage or a sink task. Key: "{pipeline}/{stage}/{task}".
/// Fed by the exchange (this interface) or, for the first stage after the sources, by stream delivery.
/// </summary>
internal interface IKeyGroupGrain : IGrainWithStringKey
{
    /// <summary>Delivers the next message of one input channel. Redelivered messages are dropped.</summary>
    Task DeliverAsync(ChannelBatch batch);

    /// <summary>The pipeline restarts: drop in-memory state and restore what <paramref name="attempt"/> names.</summary>
    Task RestartAsync(Checkpointing.AttemptDirective attempt);

    /// <summary>Checkpoint <paramref name="checkpointId"/> completed: a transactional sink commits the epochs it covers.</summary>
    Task NotifyCheckpointCompleteAsync(long checkpointId);

    /// <summary>
    /// Moves this key group with its state in memory (grain migration) to <paramref name="target"/> when it is next idle;
    /// nothing happens when it is there already or the target is not an active silo.
    /// </summary>
    Task MigrateAsync(SiloAddress target);

    /// <summary>
    /// Live state query: the values of <paramref name="keys"/> (all of this key group) in queryable state
    /// <paramref name="stateName"/>, and the task's watermark. Read-only; interleaves with processing, which is only ever
    /// suspended between batches, so it never waits behind a blocked turn (backpressure, alignment, uploads).
    /// </summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<QueryableState.KeyGroupQueryAnswer> QueryStateAsync(string stateName, object[] keys);
}
