namespace Sluice.Sinks;

/// <summary>What a sink promises about its output after failures; declared per sink.</summary>
public enum DeliveryGuarantee
{
    /// <summary>Every record at least once: output is visible at once, a restart may write records again.</summary>
    AtLeastOnce,

    /// <summary>
    /// Every record exactly once for readers that skip uncommitted output (Kafka: <c>isolation.level=read_committed</c>):
    /// output becomes visible when the checkpoint that covers it completes.
    /// </summary>
    ExactlyOnce,
}
