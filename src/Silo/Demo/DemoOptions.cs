namespace Sluice.Silo.Demo;

/// <summary>Settings of the built-in demo pipeline (section "Sluice:Demo").</summary>
internal sealed class DemoOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>"kafka": clicks go through Kafka (embedded unless Kafka:BootstrapServers is set); "generator": read straight from the generator.</summary>
    public string Source { get; set; } = "kafka";

    public string PipelineId { get; set; } = "clicks";

    public int Partitions { get; set; } = 4;

    public double RecordsPerSecond { get; set; } = 20_000;

    public long Users { get; set; } = 5_000;

    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan MaxOutOfOrderness { get; set; } = TimeSpan.FromSeconds(2);

    public int TopN { get; set; } = 5;

    /// <summary>How often the demo checkpoints to the checkpoint store (section "Checkpoints"; local disk by default); null: never.</summary>
    public TimeSpan? CheckpointInterval { get; set; } = TimeSpan.FromSeconds(10);
}
