using Sluice.Pipelines;
using Sluice.Sources;

namespace Sluice;

/// <summary>
/// A streaming job (Flink: job graph) written with a fluent, typed builder:
/// <code>
/// var p = Pipeline.Create("clicks");
/// p.From(source)
///  .WithTimestamps(c => c.Time, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromSeconds(2)))
///  .KeyBy(c => c.UserId)
///  .Window(Tumbling.Of(TimeSpan.FromSeconds(10)))
///  .Aggregate(Aggregates.Count&lt;Click&gt;())
///  .SinkTo(sink);
/// </code>
/// The definition is code, so every silo registers the same pipeline; the engine plans stages from it.
/// </summary>
public sealed class Pipeline
{
    private readonly List<StreamNode> _sinks = [];
    private readonly List<StreamNode> _sources = [];

    private Pipeline(string id, PipelineOptions options)
    {
        Id = id;
        Options = options;
    }

    public string Id { get; }

    public PipelineOptions Options { get; }

    internal IReadOnlyList<StreamNode> Sinks => _sinks;

    internal IReadOnlyList<StreamNode> Sources => _sources;

    public static Pipeline Create(string id, Action<PipelineOptions>? configure = null)
    {
        if (string.IsNullOrWhiteSpace(id) || id.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"Pipeline id '{id}' must be non-empty and contain no '/'.", nameof(id));
        }

        var options = new PipelineOptions();
        configure?.Invoke(options);
        return new Pipeline(id, options);
    }

    /// <summary>Starts a stream from a partitioned source.</summary>
    public DataStream<T> From<T>(SourceDefinition<T> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var node = new SourceNode<T>(this, source);
        _sources.Add(node);
        return new DataStream<T>(node);
    }

    internal void AddSink(StreamNode sink) => _sinks.Add(sink);

    public override string ToString() => Id;
}
