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
    /// Moves this key group with its state in memory (grain migration) when it is next idle: to <paramref name="target"/>,
    /// or where placement chooses when null.
    /// </summary>
    Task MigrateAsync(SiloAddress? target);
}
