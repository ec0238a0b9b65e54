using Sluice.KeyGroups;
using Sluice.Sources;
using Sluice.Time;

namespace Sluice.Tests.Properties;

/// <summary>
/// Feeds a <see cref="LateStreamCase"/> (equal watermarks, no returns) to an in-memory source round by round, so a cluster
/// run is exactly reproducible by <see cref="LateDataOracle"/>: round r is appended only after every key group's watermark
/// reached <c>S[r-1]</c>, seen as the firing of a sentinel window (one sentinel key per key group, a record at the round's
/// firing time <c>m[r]</c> in <c>(S[r-1], S[r]]</c>), so every record of round r meets exactly <c>S[r-1]</c>. Watermarks are
/// only the explicit ones (<see cref="ExplicitWatermarksOnly"/>) and partitions that go silent are marked idle in their
/// input where the case says so (<see cref="InMemorySource{T}.MarkIdle"/>): no idle timeout, so a machine too busy to feed
/// a live partition for a while cannot make it idle behind the oracle's back. Everything appended is also appended to
/// <see cref="OracleInputs"/>.
/// </summary>
internal sealed class RoundFeeder
{
    private readonly LateStreamCase _case;
    private readonly InMemorySource<Event> _source;
    private readonly object _lock = new();

    public RoundFeeder(LateStreamCase c, InMemorySource<Event> source, int keyGroups)
    {
        _case = c;
        _source = source;
        var assigner = new KeyGroupAssigner<string>(keyGroups, null);
        SentinelKeys = Enumerable.Range(0, keyGroups)
            .Select(g => Enumerable.Range(0, 100_000).Select(i => $"~s{i}").First(k => assigner.Assign(k) == g))
            .ToArray();
    }

    /// <summary>A watermark strategy whose generator emits nothing: the partition's watermark is its last explicit one.</summary>
    public static WatermarkStrategy ExplicitWatermarksOnly => WatermarkStrategy.ForGenerator(() => new ExplicitOnly());

    public string[] SentinelKeys { get; }

    public List<StageInput> OracleInputs { get; } = [];

    /// <summary>How many results the sink had when each round was appended (a result seen by then fired in an earlier round).</summary>
    public List<int> SeenBeforeRound { get; } = [];

    /// <summary>Oracle input index where each round starts.</summary>
    public List<int> RoundStarts { get; } = [];

    /// <summary>Appends round r: records of every partition (sentinels on partition 0), then the watermarks.</summary>
    public void AppendRound(int r, int seenSoFar)
    {
        lock (_lock)
        {
            SeenBeforeRound.Add(seenSoFar);
            RoundStarts.Add(OracleInputs.Count);
            var round = _case.Rounds[r];
            for (var p = 0; p < _case.Partitions; p++)
            {
                var last = round[p].Count > 0 && round[p][^1].Kind == StageInputKind.Watermark ? round[p].Count - 1 : round[p].Count;
                foreach (var step in round[p].Take(last))
                {
                    if (step.Kind != StageInputKind.Idle)
                    {
                        Append(step); // records and no-op watermarks keep their place among the records
                    }
                }

                if (p == 0)
                {
                    foreach (var key in SentinelKeys)
                    {
                        Append(StageInput.Of(0, new Event(key, _case.FiringTimes[r], 1)));
                    }
                }
            }

            // Closing watermarks (and, for the oracle, idleness) after every record of the round.
            for (var p = 0; p < _case.Partitions; p++)
            {
                foreach (var step in _case.Rounds[r][p].Where(s => s.Kind != StageInputKind.Record).TakeLast(1))
                {
                    Append(step);
                }
            }
        }
    }

    /// <summary>The window of round r's sentinel whose end - 1 is the round's firing time.</summary>
    public (long Start, long End) SentinelWindow(int r) => (_case.FiringTimes[r] + 1 - _case.Windows.Size, _case.FiringTimes[r] + 1);

    public void Complete()
    {
        lock (_lock)
        {
            for (var p = 0; p < _case.Partitions; p++)
            {
                OracleInputs.Add(StageInput.EndOf(p));
            }

            _source.CompleteAll();
        }
    }

    /// <summary>Index of the round an oracle input belongs to (the end of input counts as one more round).</summary>
    public int RoundOf(int inputIndex) => RoundStarts.Count(s => s <= inputIndex) - 1 + (inputIndex >= EndIndex ? 1 : 0);

    private int EndIndex => OracleInputs.Count - _case.Partitions;

    private void Append(StageInput step)
    {
        OracleInputs.Add(step);
        switch (step.Kind)
        {
            case StageInputKind.Record:
                _source.Add(step.Partition, step.Record, step.Record.Ts);
                break;
            case StageInputKind.Watermark:
                _source.AddWatermark(step.Partition, step.Watermark);
                break;
            case StageInputKind.Idle:
                _source.MarkIdle(step.Partition);
                break;
        }
    }

    private sealed class ExplicitOnly : IWatermarkGenerator<Event>
    {
        public void OnEvent(Event value, long timestamp, IWatermarkOutput output)
        {
        }

        public void OnPeriodicEmit(IWatermarkOutput output)
        {
        }
    }
}
