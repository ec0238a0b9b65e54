namespace Sluice.Time;

/// <summary>
/// Event-time and processing-time timers of one key group (Flink's <c>InternalTimerService</c>).
/// A timer is (scope, time) and registering it twice keeps one. Deletion is lazy: the heap keeps the entry
/// and it is skipped when it surfaces. The grain drives processing time from a single grain timer.
/// </summary>
internal sealed class TimerService<TScope>
    where TScope : IEquatable<TScope>
{
    private readonly TimerQueue _eventTime = new();
    private readonly TimerQueue _processingTime = new();

    public int EventTimerCount => _eventTime.Count;

    public int ProcessingTimerCount => _processingTime.Count;

    /// <summary>Earliest live processing-time timer, or null.</summary>
    public long? NextProcessingTime => _processingTime.PeekTime();

    public void RegisterEventTime(TScope scope, long time) => _eventTime.Add(scope, time);

    public void DeleteEventTime(TScope scope, long time) => _eventTime.Remove(scope, time);

    public void RegisterProcessingTime(TScope scope, long time) => _processingTime.Add(scope, time);

    public void DeleteProcessingTime(TScope scope, long time) => _processingTime.Remove(scope, time);

    /// <summary>Removes and returns the earliest event-time timer at or before <paramref name="watermark"/>.</summary>
    public bool TryPopEventTime(long watermark, out TScope scope, out long time) => _eventTime.TryPop(watermark, out scope, out time);

    public bool TryPopProcessingTime(long now, out TScope scope, out long time) => _processingTime.TryPop(now, out scope, out time);

    /// <summary>Live event-time timers, in no particular order (for snapshots).</summary>
    public IReadOnlyCollection<(TScope Scope, long Time)> EventTimers => _eventTime.Live;

    public IReadOnlyCollection<(TScope Scope, long Time)> ProcessingTimers => _processingTime.Live;

    public void Clear()
    {
        _eventTime.Clear();
        _processingTime.Clear();
    }

    private sealed class TimerQueue
    {
        private readonly PriorityQueue<(TScope Scope, long Time), long> _heap = new();
        private readonly HashSet<(TScope Scope, long Time)> _live = [];

        public int Count => _live.Count;

        public IReadOnlyCollection<(TScope Scope, long Time)> Live => _live;

        public void Clear()
        {
            _heap.Clear();
            _live.Clear();
        }

        public void Add(TScope scope, long time)
        {
            if (_live.Add((scope, time)))
            {
                _heap.Enqueue((scope, time), time);
            }
        }

        public void Remove(TScope scope, long time) => _live.Remove((scope, time));

        public long? PeekTime()
        {
            while (_heap.TryPeek(out var entry, out var time))
            {
                if (_live.Contains(entry))
                {
                    return time;
                }

                _heap.Dequeue();
            }

            return null;
        }

        public bool TryPop(long upTo, out TScope scope, out long time)
        {
            while (_heap.TryPeek(out var entry, out time) && time <= upTo)
            {
                _heap.Dequeue();
                if (_live.Remove(entry))
                {
                    scope = entry.Scope;
                    return true;
                }
            }

            scope = default!;
            time = 0;
            return false;
        }
    }
}
