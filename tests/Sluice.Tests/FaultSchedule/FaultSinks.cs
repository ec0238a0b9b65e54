using Sluice.Sinks;
using Sluice.Sinks.Files;
using Sluice.Storage;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Kafka;
using Sluice.Tests.Properties;
using Sluice.Tests.Recovery;

namespace Sluice.Tests.FaultSchedule;

/// <summary>
/// The exactly-once sink of a schedule and its faults: slow or failing staging (the asynchronous part of a prepare),
/// slow or failing commits, each for a while; and what it has committed so far.
/// </summary>
internal interface IFaultSink
{
    SinkDefinition<WindowResult> Definition { get; }

    TimeSpan StagingDelay { get; set; }

    TimeSpan CommitDelay { get; set; }

    int PreparesFailed { get; }

    int CommitsFailed { get; }

    void FailPreparesFor(TimeSpan duration);

    void FailCommitsFor(TimeSpan duration);

    void Heal();

    /// <summary>Every committed result, in commit order per task.</summary>
    Task<List<WindowResult>> CommittedAsync();
}

/// <summary>The test's transactional sink (results committed in memory).</summary>
internal sealed class CommittingFaultSink(int tasks) : IFaultSink
{
    private readonly CommittingSink<WindowResult> _sink = new("committed", tasks);

    public SinkDefinition<WindowResult> Definition => _sink;

    public TimeSpan StagingDelay { get => _sink.StagingDelay; set => _sink.StagingDelay = value; }

    public TimeSpan CommitDelay { get => _sink.CommitDelay; set => _sink.CommitDelay = value; }

    public int PreparesFailed => _sink.PreparesFailed;

    public int CommitsFailed => _sink.CommitsFailed;

    public void FailPreparesFor(TimeSpan duration) => _sink.FailPreparesFor(duration);

    public void FailCommitsFor(TimeSpan duration) => _sink.FailCommitsFor(duration);

    public void Heal() => _sink.Heal();

    public Task<List<WindowResult>> CommittedAsync() => Task.FromResult(_sink.Committed());
}

/// <summary>
/// The exactly-once file sink (JSON Lines part files on the local file system) whose store is made slow or failing: a
/// staging write is a prepare, the create-once copy to the final name a commit. What is committed is read back as a
/// reader of the sink's folder would.
/// </summary>
internal sealed class FileFaultSink : IFaultSink
{
    private readonly FileSink<WindowResult> _sink;
    private readonly LastingFault _failingPrepares = new();
    private readonly LastingFault _failingCommits = new();
    private int _preparesFailed;
    private int _commitsFailed;

    public FileFaultSink(string root, int tasks)
    {
        var options = new FileSinkOptions
        {
            Prefix = "faults/sums",
            Storage = new CheckpointStorageOptions { Kind = CheckpointStoreKinds.FileSystem, FileSystem = new FileSystemCheckpointStoreOptions { Root = root } },
        };
        _sink = new FileSink<WindowResult>("files", options, FileFormats.JsonLines(KafkaTestJson.Default.WindowResult), tasks)
        {
            StoreDecorator = store => new Store(store, this),
        };
    }

    public SinkDefinition<WindowResult> Definition => _sink;

    public TimeSpan StagingDelay { get; set; }

    public TimeSpan CommitDelay { get; set; }

    public int PreparesFailed => Volatile.Read(ref _preparesFailed);

    public int CommitsFailed => Volatile.Read(ref _commitsFailed);

    public void FailPreparesFor(TimeSpan duration) => _failingPrepares.For(duration);

    public void FailCommitsFor(TimeSpan duration) => _failingCommits.For(duration);

    public void Heal()
    {
        StagingDelay = TimeSpan.Zero;
        CommitDelay = TimeSpan.Zero;
        _failingPrepares.End();
        _failingCommits.End();
    }

    public async Task<List<WindowResult>> CommittedAsync()
    {
        using var reader = new FileSinkReader<WindowResult>(_sink.Options, _sink.Format);
        return await reader.ReadAllAsync();
    }

    /// <summary>The sink's real store behind the faults in force: staging puts are prepares, final-name commits are commits.</summary>
    private sealed class Store(ICheckpointStore inner, FileFaultSink faults) : ICheckpointStore
    {
        public string Name => inner.Name;

        public async Task PutAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            if (path.Contains("/_staging/", StringComparison.Ordinal))
            {
                if (faults.StagingDelay > TimeSpan.Zero)
                {
                    await Task.Delay(faults.StagingDelay, cancellationToken);
                }

                if (faults._failingPrepares.Active)
                {
                    Interlocked.Increment(ref faults._preparesFailed);
                    throw new CheckpointStoreException(Name, "put", path, "injected: staging failed");
                }
            }

            await inner.PutAsync(path, data, cancellationToken);
        }

        public async Task<bool> CommitAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        {
            if (faults.CommitDelay > TimeSpan.Zero)
            {
                await Task.Delay(faults.CommitDelay, cancellationToken);
            }

            if (faults._failingCommits.Active)
            {
                Interlocked.Increment(ref faults._commitsFailed);
                throw new CheckpointStoreException(Name, "commit", path, "injected: commit failed");
            }

            return await inner.CommitAsync(path, data, cancellationToken);
        }

        public Task<byte[]?> GetAsync(string path, CancellationToken cancellationToken = default) => inner.GetAsync(path, cancellationToken);

        public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

        public Task DeleteAsync(string path, CancellationToken cancellationToken = default) => inner.DeleteAsync(path, cancellationToken);

        public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default) => inner.ExistsAsync(path, cancellationToken);
    }
}
