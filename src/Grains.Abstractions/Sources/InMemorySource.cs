namespace Sluice.Sources;

/// <summary>
/// A source for tests: records with timestamps and explicit watermarks are appended per partition and read
/// in that order, so operator test sequences (record, record, watermark, ...) replay exactly. Lives in the
/// memory of the process, so it only works with silos in that process (TestCluster).
/// </summary>
public sealed class InMemorySource<T> : SourceDefinition<T>
{
    private readonly Partition[] _partitions;

    public InMemorySource(string name, int partitions)
        : base(name, partitions)
    {
        _partitions = new Partition[partitions];
        for (var i = 0; i < partitions; i++)
        {
            _partitions[i] = new Partition();
        }
    }

    public override bool CarriesWatermarks => true;

    public void Add(int partition, T value, long timestamp) => Append(partition, new Entry(value, timestamp, EntryKind.Record));

    public void AddWatermark(int partition, long watermark) => Append(partition, new Entry(default!, watermark, EntryKind.Watermark));

    /// <summary>Marks the partition idle at this point of its input (<see cref="ISourceOutput{T}.Idle"/>) until its next record or watermark.</summary>
    public void MarkIdle(int partition) => Append(partition, new Entry(default!, 0, EntryKind.Idle));

    /// <summary>Ends the partition once everything appended so far is read: its final watermark is <c>long.MaxValue</c>.</summary>
    public void Complete(int partition)
    {
        var p = _partitions[partition];
        lock (p)
        {
            p.Completed = true;
        }
    }

    public void CompleteAll()
    {
        for (var i = 0; i < _partitions.Length; i++)
        {
            Complete(i);
        }
    }

    /// <summary>Stops the partition from being read while it keeps its backlog: a lagging partition, never idle.</summary>
    public void Pause(int partition) => SetPaused(partition, true);

    public void Resume(int partition) => SetPaused(partition, false);

    public override ISourceReader<T> OpenReader(int partition) => new Reader(_partitions[partition]);

    private void Append(int partition, Entry entry)
    {
        var p = _partitions[partition];
        lock (p)
        {
            if (p.Completed)
            {
                throw new InvalidOperationException($"Partition {partition} of source '{Name}' is complete.");
            }

            p.Entries.Add(entry);
        }
    }

    private void SetPaused(int partition, bool paused)
    {
        var p = _partitions[partition];
        lock (p)
        {
            p.Paused = paused;
        }
    }

    private enum EntryKind : byte
    {
        Record,
        Watermark,
        Idle,
    }

    private readonly record struct Entry(T Value, long Timestamp, EntryKind Kind);

    private sealed class Partition
    {
        public readonly List<Entry> Entries = [];
        public bool Completed;
        public bool Paused;
    }

    private sealed class Reader(Partition partition) : ISourceReader<T>, ISeekableSourceReader
    {
        private int _position;

        public long Position => _position;

        public void Seek(long position)
        {
            lock (partition)
            {
                _position = (int)Math.Clamp(position, 0, partition.Entries.Count);
            }
        }

        public SourceReadResult Read(int maxRecords, ISourceOutput<T> output, long nowMilliseconds)
        {
            lock (partition)
            {
                var available = partition.Entries.Count;
                if (!partition.Paused)
                {
                    var end = Math.Min(available, _position + maxRecords);
                    for (; _position < end; _position++)
                    {
                        var e = partition.Entries[_position];
                        if (e.Kind == EntryKind.Record)
                        {
                            output.Record(e.Value, e.Timestamp);
                            continue;
                        }

                        if (e.Kind == EntryKind.Watermark)
                        {
                            output.Watermark(e.Timestamp);
                        }
                        else
                        {
                            output.Idle();
                        }

                        _position++;
                        break; // a watermark or idleness ends the read, so records after it are never batched with records before it
                    }
                }

                var backlog = available - _position;
                return new SourceReadResult(backlog, Ended: partition.Completed && backlog == 0);
            }
        }
    }
}
