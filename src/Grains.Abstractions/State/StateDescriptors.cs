using Sluice.Functions;
using Sluice.Queries;

namespace Sluice.State;

/// <summary>
/// Names a keyed state and says what it holds (Flink's <c>StateDescriptor</c>). The name identifies the state in
/// checkpoints: a restored pipeline finds its state again by name, so keep names stable. Values are written to
/// checkpoints with Orleans serializers, as records crossing grains are (<c>[GenerateSerializer]</c>).
/// </summary>
public abstract class StateDescriptor
{
    private protected StateDescriptor(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
    }

    public string Name { get; }

    /// <summary>When set, values expire this long after they were written (or read); null: they never expire.</summary>
    public StateTtlConfig? Ttl { get; init; }

    /// <summary>
    /// When set, clients can read this state by key while the pipeline runs, under this name (Flink's
    /// <c>setQueryable</c>): <c>ISluiceClient.QueryAsync</c>, or <c>GET /api/pipelines/{id}/state/{name}/{key}</c>. Names are
    /// unique within a pipeline; 1-64 letters, digits, '-', '_' or '.'. Queries read without changing anything (they never
    /// renew a time-to-live).
    /// </summary>
    public string? QueryableName
    {
        get;
        init
        {
            if (value is not null)
            {
                QueryableNames.Validate(value, nameof(QueryableName));
            }

            field = value;
        }
    }

    public override string ToString() => $"{GetType().Name}('{Name}')";
}

public sealed class ValueStateDescriptor<T>(string name) : StateDescriptor(name);

public sealed class ListStateDescriptor<T>(string name) : StateDescriptor(name);

public sealed class MapStateDescriptor<TUserKey, TUserValue>(string name) : StateDescriptor(name)
    where TUserKey : notnull;

public sealed class ReducingStateDescriptor<T> : StateDescriptor
{
    public ReducingStateDescriptor(string name, Func<T, T, T> reduce)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(reduce);
        Reduce = reduce;
    }

    public Func<T, T, T> Reduce { get; }
}

public sealed class AggregatingStateDescriptor<TIn, TAcc, TOut> : StateDescriptor
{
    public AggregatingStateDescriptor(string name, IAggregateFunction<TIn, TAcc, TOut> aggregate)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(aggregate);
        Aggregate = aggregate;
    }

    public IAggregateFunction<TIn, TAcc, TOut> Aggregate { get; }
}
