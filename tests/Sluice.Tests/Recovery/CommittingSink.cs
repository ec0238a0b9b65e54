using System.Collections.Concurrent;
using Sluice.Functions;
using Sluice.Sinks;
using Sluice.Tests.Infrastructure;

namespace Sluice.Tests.Recovery;

/// <summary>
/// A transactional sink kept in the test process (the in-process silos share it): an epoch is prepared into
/// <see cref="Prepared"/> at its barrier and moved to the committed output when its checkpoint completes. What the
/// tests read is only the committed output, as a reader of an exactly-once sink would.
/// </summary>
public sealed class CommittingSink<T>(string name, int parallelism = 1) : SinkDefinition<T>(name, parallelism)
{
    private ConcurrentDictionary<(int Task, long Checkpoint), T[]> _prepared = new();
    private ConcurrentDictionary<(int Task, long Checkpoint), T[]> _committed = new();
    private readonly LastingFault _failingPrepares = new();
    private readonly LastingFault _failingCommits = new();
    private int _commitsFailed;
    private long _blockNextWriteTicks;
    private int _failNextPrepare;
    private int _preparesFailed;

    /// <summary>
    /// The same sink (its prepared and committed epochs) with another number of tasks, for a pipeline restored with its
    /// sink's parallelism changed.
    /// </summary>
    public CommittingSink<T> Rescaled(int tasks)
    {
        var rescaled = new CommittingSink<T>(Name, tasks);
        rescaled._prepared = _prepared;
        rescaled._committed = _committed;
        return rescaled;
    }

    public int Prepared => _prepared.Count;

    /// <summary>
    /// The next record written blocks its sink task for <paramref name="duration"/> (the grain's thread sleeps, as a sink
    /// stuck in a synchronous call would), once: the exchange into the sink backs up and stalls the stages before it.
    /// </summary>
    public void BlockNextWrite(TimeSpan duration) => Interlocked.Exchange(ref _blockNextWriteTicks, duration.Ticks);

    /// <summary>The next prepare of an epoch with records fails, once: the checkpoint fails and the pipeline restarts.</summary>
    public void FailNextPrepare() => Interlocked.Exchange(ref _failNextPrepare, 1);

    /// <summary>Prepares that threw: by <see cref="FailNextPrepare"/> or while <see cref="FailPreparesFor"/> was in force.</summary>
    public int PreparesFailed => Volatile.Read(ref _preparesFailed);

    /// <summary>
    /// How long staging takes after the epoch is sealed (the synchronous part of a prepare takes the records at once, as
    /// the contract says; the epoch becomes durable only after this delay, as with a slow store).
    /// </summary>
    public TimeSpan StagingDelay { get; set; }

    /// <summary>How long a commit takes before the epoch becomes visible in the committed output (a slow store).</summary>
    public TimeSpan CommitDelay { get; set; }

    /// <summary>Commits that threw because <see cref="FailCommitsFor"/> was in force.</summary>
    public int CommitsFailed => Volatile.Read(ref _commitsFailed);

    /// <summary>Every prepare throws (before sealing anything) for <paramref name="duration"/> from now.</summary>
    public void FailPreparesFor(TimeSpan duration) => _failingPrepares.For(duration);

    /// <summary>Every commit throws (before committing anything) for <paramref name="duration"/> from now.</summary>
    public void FailCommitsFor(TimeSpan duration) => _failingCommits.For(duration);

    /// <summary>Ends every injected fault: no delays, no failures.</summary>
    public void Heal()
    {
        StagingDelay = TimeSpan.Zero;
        CommitDelay = TimeSpan.Zero;
        _failingPrepares.End();
        _failingCommits.End();
    }

    /// <summary>Epochs whose staging completed (in <see cref="Prepared"/>) but that were never committed.</summary>
    public IEnumerable<(int Task, long Checkpoint)> PreparedNotCommitted => _prepared.Keys.Where(k => !_committed.ContainsKey(k));

    public int CommittedEpochs => _committed.Count;

    /// <summary>Every committed record, by task and epoch.</summary>
    public List<T> Committed() => _committed.OrderBy(e => e.Key).SelectMany(e => e.Value).ToList();

    public override ISinkFunction<T> CreateWriter(int taskIndex) => new Writer(this, taskIndex);

    private sealed class Writer(CommittingSink<T> sink, int task) : ITransactionalSink<T>, IMovableSink
    {
        private readonly List<T> _epoch = [];

        public void Write(T value, SinkContext context)
        {
            if (Volatile.Read(ref sink._blockNextWriteTicks) != 0 && Interlocked.Exchange(ref sink._blockNextWriteTicks, 0) is var ticks and > 0)
            {
                Thread.Sleep(TimeSpan.FromTicks(ticks));
            }

            _epoch.Add(value);
        }

        /// <summary>A user's sink would serialise its open epoch like this: the records, nothing in-process.</summary>
        public byte[] ExportOpenEpoch()
        {
            var epoch = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(_epoch);
            _epoch.Clear();
            return epoch;
        }

        public void ImportOpenEpoch(ReadOnlySpan<byte> epoch) =>
            _epoch.AddRange(System.Text.Json.JsonSerializer.Deserialize<List<T>>(epoch) ?? []);

        public Task<byte[]?> PrepareAsync(long checkpointId, CancellationToken cancellationToken)
        {
            if (sink._failingPrepares.Active)
            {
                Interlocked.Increment(ref sink._preparesFailed);
                return Task.FromException<byte[]?>(new IOException($"injected: preparing epoch {checkpointId} of task {task} failed"));
            }

            if (_epoch.Count == 0)
            {
                return Task.FromResult<byte[]?>(null);
            }

            var sealedEpoch = _epoch.ToArray();
            _epoch.Clear();
            if (Interlocked.Exchange(ref sink._failNextPrepare, 0) == 1)
            {
                Interlocked.Increment(ref sink._preparesFailed);
                throw new InvalidOperationException($"injected: prepare of epoch {checkpointId} of task {task} failed");
            }

            return sink.StagingDelay > TimeSpan.Zero
                ? StageSlowlyAsync(checkpointId, sealedEpoch)
                : Task.FromResult<byte[]?>(Stage(checkpointId, sealedEpoch));
        }

        private async Task<byte[]?> StageSlowlyAsync(long checkpointId, T[] sealedEpoch)
        {
            await Task.Delay(sink.StagingDelay);
            return Stage(checkpointId, sealedEpoch);
        }

        private byte[] Stage(long checkpointId, T[] sealedEpoch)
        {
            sink._prepared[(task, checkpointId)] = sealedEpoch;
            return BitConverter.GetBytes(checkpointId);
        }

        public Task CommitAsync(long checkpointId, byte[] transaction, CancellationToken cancellationToken)
        {
            if (sink._failingCommits.Active)
            {
                Interlocked.Increment(ref sink._commitsFailed);
                return Task.FromException(new IOException($"injected: committing epoch {checkpointId} of task {task} failed"));
            }

            return sink.CommitDelay > TimeSpan.Zero ? CommitSlowlyAsync(checkpointId, transaction) : Commit(checkpointId, transaction);
        }

        private async Task CommitSlowlyAsync(long checkpointId, byte[] transaction)
        {
            await Task.Delay(sink.CommitDelay);
            await Commit(checkpointId, transaction);
        }

        private Task Commit(long checkpointId, byte[] transaction)
        {
            if (BitConverter.ToInt64(transaction) != checkpointId)
            {
                throw new InvalidOperationException($"transaction {BitConverter.ToInt64(transaction)} committed as {checkpointId}");
            }

            if (sink._prepared.TryGetValue((task, checkpointId), out var records))
            {
                sink._committed.TryAdd((task, checkpointId), records);
            }
            else if (!sink._committed.ContainsKey((task, checkpointId)))
            {
                throw new InvalidOperationException($"epoch {checkpointId} of task {task} was never prepared");
            }

            return Task.CompletedTask;
        }
    }
}
