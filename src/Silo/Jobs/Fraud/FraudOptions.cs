namespace Sluice.Silo.Jobs.Fraud;

/// <summary>
/// Settings of the fraud-detection job (section <c>Jobs:Fraud</c>; selected with <c>Sluice:Job</c> = <c>fraud</c>). The
/// Kafka cluster is <c>Kafka:BootstrapServers</c>; empty starts an embedded one in the silo, creates the topics and, unless
/// <c>Generator:Enabled</c> says otherwise, fills them with generated transactions and rule changes.
/// </summary>
internal sealed class FraudOptions
{
    public const string SectionName = "Jobs:Fraud";

    public string PipelineId { get; set; } = "fraud";

    /// <summary>JSON transactions <c>{txId, cardId, amount, ts}</c>.</summary>
    public string TransactionsTopic { get; set; } = "transactions";

    /// <summary>JSON rule versions <c>{ruleId, ts, smallBelow, largeAbove, windowMs, enabled, deleted}</c>; read by every key group.</summary>
    public string RulesTopic { get; set; } = "fraud-rules";

    /// <summary>JSON alerts, keyed by card id.</summary>
    public string AlertsTopic { get; set; } = "fraud-alerts";

    /// <summary>Records of either input topic that are not valid JSON or not a valid transaction or rule.</summary>
    public string DeadLetterTopic { get; set; } = "fraud-dead-letters";

    /// <summary>Transactions that arrived behind the watermark (later than <see cref="MaxOutOfOrderness"/>), as JSON.</summary>
    public string LateTopic { get; set; } = "fraud-late-transactions";

    /// <summary>Consumer group for lag monitoring; empty: <c>sluice-{PipelineId}</c>.</summary>
    public string? GroupId { get; set; }

    /// <summary>Partitions of the transactions and alerts topics when the embedded Kafka creates them.</summary>
    public int Partitions { get; set; } = 4;

    /// <summary>Bound of the watermark's out-of-orderness on both topics.</summary>
    public TimeSpan MaxOutOfOrderness { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A caught-up partition silent this long stops holding the watermark back (the rules topic is silent most of the time).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest window a rule may ask for; longer ones go to the dead-letter topic.</summary>
    public TimeSpan MaxWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Memory bound of a card's "small charge seen" (processing time); timers clear it much earlier while the watermark moves.</summary>
    public TimeSpan SmallChargeTimeToLive { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Versions of a rule superseded this long (event time) before its newest change are forgotten.</summary>
    public TimeSpan RuleHistory { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Checkpoint interval (local disk unless section Checkpoints says otherwise); null: no checkpoints.</summary>
    public TimeSpan? CheckpointInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Resume from the newest checkpoint at start; ignored (off) on the embedded Kafka, which starts empty.</summary>
    public bool ResumeFromCheckpoint { get; set; } = true;

    /// <summary>Key groups of the keyed stage (fixed once a checkpoint exists).</summary>
    public int MaxParallelism { get; set; } = 32;

    /// <summary>Also print each alert on the console.</summary>
    public bool PrintAlerts { get; set; } = true;

    /// <summary>Read both topics up to their end offsets at start, then finish (backfills, tests).</summary>
    public bool StopAtEnd { get; set; }

    public FraudGeneratorOptions Generator { get; set; } = new();

    public string ResolvedGroupId => string.IsNullOrWhiteSpace(GroupId) ? $"sluice-{PipelineId}" : GroupId;

    /// <summary>Problems with the settings, each naming its configuration path; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        Require(errors, PipelineId, nameof(PipelineId));
        Require(errors, TransactionsTopic, nameof(TransactionsTopic));
        Require(errors, RulesTopic, nameof(RulesTopic));
        Require(errors, AlertsTopic, nameof(AlertsTopic));
        Require(errors, DeadLetterTopic, nameof(DeadLetterTopic));
        Require(errors, LateTopic, nameof(LateTopic));
        Positive(errors, Partitions, nameof(Partitions));
        Positive(errors, IdleTimeout, nameof(IdleTimeout));
        Positive(errors, MaxWindow, nameof(MaxWindow));
        Positive(errors, SmallChargeTimeToLive, nameof(SmallChargeTimeToLive));
        Positive(errors, RuleHistory, nameof(RuleHistory));
        if (MaxOutOfOrderness < TimeSpan.Zero)
        {
            errors.Add($"{SectionName}:MaxOutOfOrderness cannot be negative (is {MaxOutOfOrderness}).");
        }

        if (SmallChargeTimeToLive < MaxWindow)
        {
            errors.Add($"{SectionName}:SmallChargeTimeToLive ({SmallChargeTimeToLive}) must be at least MaxWindow ({MaxWindow}), or small charges could vanish inside a rule's window.");
        }

        if (CheckpointInterval is { } interval && interval <= TimeSpan.Zero)
        {
            errors.Add($"{SectionName}:CheckpointInterval must be positive when set (is {interval}).");
        }

        if (MaxParallelism is < 1 or > PipelineOptions.MaxSupportedParallelism)
        {
            errors.Add($"{SectionName}:MaxParallelism must be 1..{PipelineOptions.MaxSupportedParallelism} (is {MaxParallelism}).");
        }

        Generator.Validate(errors, $"{SectionName}:Generator");
        return errors;
    }

    private static void Require(List<string> errors, string? value, string name)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add($"{SectionName}:{name} is empty.");
        }
    }

    private static void Positive(List<string> errors, TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{SectionName}:{name} must be positive (is {value}).");
        }
    }

    private static void Positive(List<string> errors, int value, string name)
    {
        if (value < 1)
        {
            errors.Add($"{SectionName}:{name} must be at least 1 (is {value}).");
        }
    }
}

/// <summary>The demo data of the fraud job (section <c>Jobs:Fraud:Generator</c>).</summary>
internal sealed class FraudGeneratorOptions
{
    /// <summary>Null: generate only on the embedded Kafka; true also writes to a real cluster's topics.</summary>
    public bool? Enabled { get; set; }

    public double TransactionsPerSecond { get; set; } = 50;

    /// <summary>Event time runs this many times faster than the wall clock (1: transactions are stamped with the time they are written).</summary>
    public double TimeScale { get; set; } = 1;

    public int Cards { get; set; } = 200;

    /// <summary>Transactions to write, then stop (after one closing transaction per partition an hour later, so every one is judged); 0: no end.</summary>
    public long Transactions { get; set; }

    /// <summary>A rule change every this many transactions (the first rule is written before any transaction).</summary>
    public int RuleChangeEvery { get; set; } = 1_500;

    /// <summary>How far ahead (event time) of the transactions a rule change is announced, so it reaches every key group before the watermark passes its time.</summary>
    public TimeSpan RuleLead { get; set; } = TimeSpan.FromSeconds(30);

    public int Seed { get; set; } = 11;

    public void Validate(List<string> errors, string section)
    {
        if (TransactionsPerSecond <= 0)
        {
            errors.Add($"{section}:TransactionsPerSecond must be positive (is {TransactionsPerSecond}).");
        }

        if (TimeScale <= 0)
        {
            errors.Add($"{section}:TimeScale must be positive (is {TimeScale}).");
        }

        if (Cards < 1)
        {
            errors.Add($"{section}:Cards must be at least 1 (is {Cards}).");
        }

        if (Transactions < 0)
        {
            errors.Add($"{section}:Transactions cannot be negative (is {Transactions}).");
        }

        if (RuleChangeEvery < 1)
        {
            errors.Add($"{section}:RuleChangeEvery must be at least 1 (is {RuleChangeEvery}).");
        }

        if (RuleLead < TimeSpan.Zero)
        {
            errors.Add($"{section}:RuleLead cannot be negative (is {RuleLead}).");
        }
    }
}
