using System.Collections.Concurrent;
using Sluice.Functions;

namespace Sluice.Sinks;

/// <summary>
/// Collects every record in memory, for tests. Works with silos in the same process only (TestCluster).
/// <see cref="Completion"/> finishes when every task has seen the end of its input.
/// </summary>
public sealed class CollectingSink<T> : SinkDefinition<T>
{
    private readonly ConcurrentQueue<(T Value, long Timestamp)> _records = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _finishedTasks;

    public CollectingSink(string name, int parallelism = 1)
        : base(name, parallelism)
    {
    }

    public IReadOnlyList<T> Values => _records.Select(r => r.Value).ToList();

    public IReadOnlyList<(T Value, long Timestamp)> Records => _records.ToList();

    public int Count => _records.Count;

    public Task Completion => _completion.Task;

    public override ISinkFunction<T> CreateWriter(int taskIndex) => new Writer(this);

    private sealed class Writer(CollectingSink<T> sink) : ISinkFunction<T>
    {
        private bool _finished;

        public void Write(T value, SinkContext context) => sink._records.Enqueue((value, context.Timestamp));

        public void Finish()
        {
            if (_finished)
            {
                return;
            }

            _finished = true;
            if (Interlocked.Increment(ref sink._finishedTasks) == sink.Parallelism)
            {
                sink._completion.TrySetResult();
            }
        }
    }
}
