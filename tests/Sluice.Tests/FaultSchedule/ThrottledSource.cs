using Sluice.Sources;

namespace Sluice.Tests.FaultSchedule;

/// <summary>
/// A source that turns slow while <see cref="FaultInjection.SourceSlow"/> is in force, as a partition on a struggling
/// broker: a read hands out at most a few records, and often none (the backlog is still reported, so the partition is
/// not idle). Its readers stay seekable, so checkpoints record and restore their positions as the inner source's do.
/// </summary>
internal sealed class ThrottledSource<T>(SourceDefinition<T> inner, FaultInjection faults) : SourceDefinition<T>(inner.Name, inner.Partitions)
{
    public override bool CarriesWatermarks => inner.CarriesWatermarks;

    public override ISourceReader<T> OpenReader(int partition) => new Reader(inner.OpenReader(partition), faults);

    private sealed class Reader(ISourceReader<T> inner, FaultInjection faults) : ISourceReader<T>, ISeekableSourceReader
    {
        private long _skippedBacklog;

        public long Position => (inner as ISeekableSourceReader)?.Position ?? -1;

        public void Seek(long position) =>
            (inner as ISeekableSourceReader ?? throw new NotSupportedException("the inner source cannot seek")).Seek(position);

        public SourceReadResult Read(int maxRecords, ISourceOutput<T> output, long nowMilliseconds)
        {
            if (!faults.SourceSlow)
            {
                return inner.Read(maxRecords, output, nowMilliseconds);
            }

            if (faults.Next(3) == 0)
            {
                // Nothing arrived this time; what is known to be waiting still is.
                return new SourceReadResult(Math.Max(_skippedBacklog, 1), Ended: false);
            }

            var result = inner.Read(Math.Min(maxRecords, 1 + faults.Next(4)), output, nowMilliseconds);
            _skippedBacklog = result.Backlog;
            return result;
        }
    }
}
