namespace Sluice.Kafka;

/// <summary>Points in an exactly-once Kafka sink task's transaction protocol, in the order they happen.</summary>
internal enum KafkaTransactionStep
{
    /// <summary>The epoch has no marker and is about to be produced: nothing of it has been sent.</summary>
    Beginning,

    /// <summary>The epoch's records are sent in the open transaction; its commit marker is not.</summary>
    RecordsProduced,

    /// <summary>Records and commit marker are sent; the transaction is about to be committed.</summary>
    Committing,

    /// <summary>The transaction is committed; the sink task does not know it yet.</summary>
    Committed,

    /// <summary>A transactional id of a sink task that no longer exists (parallelism lowered) was initialised, aborting what it left open.</summary>
    RetiredTaskAborted,
}

/// <summary>
/// Called at each <see cref="KafkaTransactionStep"/> with the transactional id and epoch, on the thread that runs the
/// protocol (never a grain's): fault injection points for the crash tests. An exception thrown here fails the step.
/// </summary>
internal delegate void KafkaTransactionHook(KafkaTransactionStep step, string transactionalId, long epoch);
