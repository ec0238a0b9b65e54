using Sluice.Pipelines;
using Sluice.ProcessFunctions;
using Sluice.State;
using Sluice.Windows;

namespace Sluice.Joins;

/// <summary>
/// Two streams about to be joined on keys (Flink's <c>JoinedStreams</c>): <c>a.Join(b).Where(keyA).EqualTo(keyB)</c>,
/// then a window join (<see cref="JoinedStreamsOnKeys{TLeft,TRight,TKey}.Window"/>) or a regular, unbounded one
/// (<see cref="JoinedStreamsOnKeys{TLeft,TRight,TKey}.Unbounded"/>).
/// </summary>
public sealed class JoinedStreams<TLeft, TRight>
{
    private readonly DataStream<TLeft> _left;
    private readonly DataStream<TRight> _right;

    internal JoinedStreams(DataStream<TLeft> left, DataStream<TRight> right)
    {
        _left = left;
        _right = right;
    }

    /// <summary>The key of a left record.</summary>
    public JoinedStreamsWhere<TLeft, TRight, TKey> Where<TKey>(Func<TLeft, TKey> leftKey, int? maxParallelism = null)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(leftKey);
        return new JoinedStreamsWhere<TLeft, TRight, TKey>(_left, _right, leftKey, maxParallelism);
    }
}

/// <summary>A join with its left key; name the right key with <see cref="EqualTo"/>.</summary>
public sealed class JoinedStreamsWhere<TLeft, TRight, TKey>
    where TKey : notnull
{
    private readonly DataStream<TLeft> _left;
    private readonly DataStream<TRight> _right;
    private readonly Func<TLeft, TKey> _leftKey;
    private readonly int? _maxParallelism;

    internal JoinedStreamsWhere(DataStream<TLeft> left, DataStream<TRight> right, Func<TLeft, TKey> leftKey, int? maxParallelism)
    {
        _left = left;
        _right = right;
        _leftKey = leftKey;
        _maxParallelism = maxParallelism;
    }

    /// <summary>The key of a right record: records of both sides with equal keys join.</summary>
    public JoinedStreamsOnKeys<TLeft, TRight, TKey> EqualTo(Func<TRight, TKey> rightKey)
    {
        ArgumentNullException.ThrowIfNull(rightKey);
        return new JoinedStreamsOnKeys<TLeft, TRight, TKey>(_left.Connect(_right).KeyBy(_leftKey, rightKey, _maxParallelism));
    }
}

/// <summary>Two streams keyed into the same key groups for a join: by window, or unbounded with a time-to-live.</summary>
public sealed class JoinedStreamsOnKeys<TLeft, TRight, TKey>
    where TKey : notnull
{
    private readonly KeyedConnectedStreams<TLeft, TRight, TKey> _keyed;

    internal JoinedStreamsOnKeys(KeyedConnectedStreams<TLeft, TRight, TKey> keyed) => _keyed = keyed;

    /// <summary>
    /// A window join: the records of a key in one window of <paramref name="assigner"/> are joined pairwise (every left with
    /// every right) when the watermark passes the window's end. Event-time tumbling, sliding or session windows; with
    /// sessions, the records of both sides form the sessions together (a gap on either side ends a session).
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The assigner is a processing-time one, a session with a dynamic gap (which needs one record type), or a global window.
    /// </exception>
    public WindowJoin<TLeft, TRight, TKey> Window(WindowAssigner assigner)
    {
        ArgumentNullException.ThrowIfNull(assigner);
        if (!assigner.IsEventTime)
        {
            throw new ArgumentException($"A window join needs an event-time window assigner; {assigner} measures processing time.", nameof(assigner));
        }

        if (assigner is MergingWindowAssigner and not Session)
        {
            throw new ArgumentException(
                $"A window join merges sessions with a static gap only; {assigner} chooses its gap per record, which needs one record type, not two.", nameof(assigner));
        }

        return new WindowJoin<TLeft, TRight, TKey>(_keyed, assigner);
    }

    /// <summary>
    /// A regular (unbounded) inner join for enrichment (Flink SQL's regular join): each side keeps its records per key for
    /// <paramref name="ttl"/>, and every arriving record joins what the other side keeps for its key.
    /// </summary>
    public RegularJoin<TLeft, TRight, TKey> Unbounded(StateTtlConfig ttl)
    {
        ArgumentNullException.ThrowIfNull(ttl);
        return new RegularJoin<TLeft, TRight, TKey>(_keyed, ttl);
    }
}

/// <summary>A window join ready for its join function.</summary>
public sealed class WindowJoin<TLeft, TRight, TKey>
    where TKey : notnull
{
    private readonly KeyedConnectedStreams<TLeft, TRight, TKey> _keyed;
    private readonly WindowAssigner _assigner;
    private OutputTag<TLeft>? _leftLate;
    private OutputTag<TRight>? _rightLate;

    internal WindowJoin(KeyedConnectedStreams<TLeft, TRight, TKey> keyed, WindowAssigner assigner)
    {
        _keyed = keyed;
        _assigner = assigner;
    }

    /// <summary>Left records whose windows have all fired go to <paramref name="tag"/> (they are dropped and counted either way).</summary>
    public WindowJoin<TLeft, TRight, TKey> SideOutputLeftLateData(OutputTag<TLeft> tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        _leftLate = tag;
        return this;
    }

    /// <summary>Right records whose windows have all fired go to <paramref name="tag"/>.</summary>
    public WindowJoin<TLeft, TRight, TKey> SideOutputRightLateData(OutputTag<TRight> tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        _rightLate = tag;
        return this;
    }

    /// <summary>Emits <paramref name="join"/> of every pair of a fired window, stamped with the window's last millisecond.</summary>
    public DataStream<TOut> Apply<TOut>(Func<TLeft, TRight, TOut> join, string name = "window-join")
    {
        ArgumentNullException.ThrowIfNull(join);
        var (assigner, leftLate, rightLate) = (_assigner, _leftLate, _rightLate);
        if (assigner is Session session)
        {
            return _keyed.Process(() => new SessionWindowJoinFunction<TKey, TLeft, TRight, TOut>(session, join, leftLate, rightLate), name);
        }

        return _keyed.Process(() => new WindowJoinFunction<TKey, TLeft, TRight, TOut>(assigner, join, leftLate, rightLate), name);
    }
}

/// <summary>A regular join: choose what each side keeps (all records by default), then <see cref="Apply{TOut}"/>.</summary>
public sealed class RegularJoin<TLeft, TRight, TKey>
    where TKey : notnull
{
    private readonly KeyedConnectedStreams<TLeft, TRight, TKey> _keyed;
    private readonly StateTtlConfig _ttl;
    private JoinStateRetention _left = JoinStateRetention.All;
    private JoinStateRetention _right = JoinStateRetention.All;

    internal RegularJoin(KeyedConnectedStreams<TLeft, TRight, TKey> keyed, StateTtlConfig ttl)
    {
        _keyed = keyed;
        _ttl = ttl;
    }

    /// <summary>The left side keeps only its latest record per key (a table's changelog).</summary>
    public RegularJoin<TLeft, TRight, TKey> KeepLatestLeft()
    {
        _left = JoinStateRetention.Latest;
        return this;
    }

    /// <summary>The right side keeps only its latest record per key (a table's changelog, e.g. a CDC stream of customers).</summary>
    public RegularJoin<TLeft, TRight, TKey> KeepLatestRight()
    {
        _right = JoinStateRetention.Latest;
        return this;
    }

    /// <summary>Emits <paramref name="join"/> of each arriving record with every matching record the other side keeps, stamped with the arriving record's timestamp.</summary>
    public DataStream<TOut> Apply<TOut>(Func<TLeft, TRight, TOut> join, string name = "regular-join")
    {
        ArgumentNullException.ThrowIfNull(join);
        var (ttl, left, right) = (_ttl, _left, _right);
        return _keyed.Process(() => new RegularJoinFunction<TKey, TLeft, TRight, TOut>(join, ttl, left, right), name);
    }
}
