using Sluice.Functions;

namespace Sluice.Sinks;

/// <summary>An output of a pipeline, written by <see cref="Parallelism"/> sink tasks.</summary>
public abstract class SinkDefinition<T>
{
    protected SinkDefinition(string name, int parallelism)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (parallelism <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(parallelism), parallelism, $"Sink '{name}' needs at least one task.");
        }

        Name = name;
        Parallelism = parallelism;
    }

    public string Name { get; }

    public int Parallelism { get; }

    /// <summary>Creates the writer of one sink task, on the silo where that task is activated.</summary>
    public abstract ISinkFunction<T> CreateWriter(int taskIndex);

    /// <summary>
    /// Creates the writer of one sink task of pipeline <paramref name="pipelineId"/>; sinks whose external state is named
    /// after the pipeline (Kafka's transactional ids and commit markers) override this.
    /// </summary>
    public virtual ISinkFunction<T> CreateWriter(string pipelineId, int taskIndex) => CreateWriter(taskIndex);
}

/// <summary>A sink whose writers come from a factory.</summary>
public sealed class FunctionSink<T>(string name, Func<int, ISinkFunction<T>> factory, int parallelism = 1)
    : SinkDefinition<T>(name, parallelism)
{
    public override ISinkFunction<T> CreateWriter(int taskIndex) => factory(taskIndex);
}
