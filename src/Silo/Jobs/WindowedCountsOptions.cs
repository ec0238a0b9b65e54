using Sluice.Sinks;

namespace Sluice.Silo.Jobs;

/// <summary>
/// Settings of the windowed-counts job (section <c>Jobs:WindowedCounts</c>; selected with <c>Sluice:Job</c> =
/// <c>windowed-counts</c>). The Kafka cluster is <c>Kafka:BootstrapServers</c>: it must outlive the silos, since the
/// job resumes from checkpointed offsets after a restart.
/// </summary>
internal sealed class WindowedCountsOptions
{
    public const string SectionName = "Jobs:WindowedCounts";

    public string PipelineId { get; set; } = "windowed-counts";

    /// <summary>Topic of JSON events <c>{id, key, ts}</c>; it must exist (its partitions are discovered).</summary>
    public string InputTopic { get; set; } = "events";

    /// <summary>Consumer group for lag monitoring; empty: <c>sluice-{PipelineId}</c>.</summary>
    public string? GroupId { get; set; }

    /// <summary>
    /// Kafka topic the counts go to (JSON, keyed by key) instead of files; empty: files under <see cref="Output"/>.
    /// The topic must exist.
    /// </summary>
    public string? OutputTopic { get; set; }

    /// <summary>
    /// With <see cref="OutputTopic"/>: ExactlyOnce (default; counts visible to read_committed readers when the checkpoint
    /// that covers them completes) or AtLeastOnce (visible at once; duplicates after a restart).
    /// </summary>
    public DeliveryGuarantee OutputGuarantee { get; set; } = DeliveryGuarantee.ExactlyOnce;

    /// <summary>Exactly once to Kafka: start of the sink's transactional ids; empty: <c>sluice-{PipelineId}</c>. Unique per pipeline on the cluster.</summary>
    public string? TransactionalIdPrefix { get; set; }

    /// <summary>Folder the exactly-once file sink commits JSON Lines part files to.</summary>
    public string Output { get; set; } = "./data/windowed-counts";

    /// <summary>With <see cref="OutputTopic"/> exactly once: the compacted topic of the sink's commit markers; empty: the sink's default.</summary>
    public string? CommitMarkerTopic { get; set; }

    /// <summary>Name prefix of the committed part files.</summary>
    public string OutputPrefix { get; set; } = "counts";

    /// <summary>Sink tasks, each writing its own part files.</summary>
    public int SinkParallelism { get; set; } = 2;

    /// <summary>Size of the tumbling event-time windows.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Bound of the watermark's out-of-orderness; records later than that are dropped as late.</summary>
    public TimeSpan MaxOutOfOrderness { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A caught-up partition silent this long stops holding the watermark back; null: never idle.</summary>
    public TimeSpan? IdleTimeout { get; set; }

    /// <summary>Checkpoint interval; the file sink commits its files when a checkpoint completes, so it is required.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Resume from the newest complete checkpoint when the pipeline starts (a restarted cluster continues).</summary>
    public bool ResumeFromCheckpoint { get; set; } = true;

    /// <summary>Start from this savepoint (taken with `Sluice.Silo savepoint windowed-counts NAME`) instead of the newest checkpoint.</summary>
    public string? StartFromSavepoint { get; set; }

    /// <summary>Key groups of the keyed stage (fixed once a checkpoint exists).</summary>
    public int MaxParallelism { get; set; } = 32;

    public string ResolvedTransactionalIdPrefix => string.IsNullOrWhiteSpace(TransactionalIdPrefix) ? $"sluice-{PipelineId}" : TransactionalIdPrefix;

    public string ResolvedGroupId => string.IsNullOrWhiteSpace(GroupId) ? $"sluice-{PipelineId}" : GroupId;

    public bool WritesToKafka => !string.IsNullOrWhiteSpace(OutputTopic);

    /// <summary>Problems with the settings, each naming its configuration path; empty when usable.</summary>
    public IReadOnlyList<string> Validate(string? bootstrapServers)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(bootstrapServers))
        {
            errors.Add("Kafka:BootstrapServers is empty; the windowed-counts job reads an existing Kafka cluster (host:port list), "
                + "one that outlives the silos so that offsets in its checkpoints stay valid.");
        }

        Require(errors, PipelineId, nameof(PipelineId));
        Require(errors, InputTopic, nameof(InputTopic));
        Require(errors, Output, nameof(Output));
        Require(errors, OutputPrefix, nameof(OutputPrefix));
        if (WritesToKafka && OutputGuarantee is not (DeliveryGuarantee.ExactlyOnce or DeliveryGuarantee.AtLeastOnce))
        {
            errors.Add($"{SectionName}:OutputGuarantee must be ExactlyOnce or AtLeastOnce for a Kafka output (is {OutputGuarantee}).");
        }

        if (WritesToKafka && OutputTopic == InputTopic)
        {
            errors.Add($"{SectionName}:OutputTopic must differ from InputTopic '{InputTopic}'.");
        }

        if (SinkParallelism < 1)
        {
            errors.Add($"{SectionName}:SinkParallelism must be at least 1 (is {SinkParallelism}).");
        }

        if (Window <= TimeSpan.Zero)
        {
            errors.Add($"{SectionName}:Window must be positive (is {Window}).");
        }

        if (MaxOutOfOrderness < TimeSpan.Zero)
        {
            errors.Add($"{SectionName}:MaxOutOfOrderness cannot be negative (is {MaxOutOfOrderness}).");
        }

        if (IdleTimeout is { } idle && idle <= TimeSpan.Zero)
        {
            errors.Add($"{SectionName}:IdleTimeout must be positive when set (is {idle}).");
        }

        if (CheckpointInterval <= TimeSpan.Zero)
        {
            errors.Add($"{SectionName}:CheckpointInterval must be positive (is {CheckpointInterval}); the exactly-once file sink commits on checkpoints.");
        }

        if (MaxParallelism is < 1 or > PipelineOptions.MaxSupportedParallelism)
        {
            errors.Add($"{SectionName}:MaxParallelism must be 1..{PipelineOptions.MaxSupportedParallelism} (is {MaxParallelism}).");
        }

        return errors;
    }

    private static void Require(List<string> errors, string? value, string name)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add($"{SectionName}:{name} is empty.");
        }
    }
}
