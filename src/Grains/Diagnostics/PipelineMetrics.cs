using System.Collections.Concurrent;
using Sluice.Pipelines;
using Sluice.Status;

namespace Sluice.Diagnostics;

/// <summary>
/// Keeps one pipeline's latest task and source reports for the gauges of <see cref="PipelineGauges"/> to read, and turns
/// source reports (totals since each partition's activation) into the counters only they carry: invalid records and
/// dead letters per source. Records in and out are counted where they happen (source receivers, key-group grains), not
/// here. Owned by the pipeline grain, which hears every report; runs once per report, never per record.
/// </summary>
internal sealed class PipelineMetrics
{
    private readonly PipelinePlan _plan;
    private readonly ConcurrentDictionary<(int Stage, int Task), TaskReport> _tasks = new();
    private readonly ConcurrentDictionary<(int Source, int Partition), SourceReport> _sources = new();
    private readonly KeyValuePair<string, object?> _pipelineTag;
    private readonly KeyValuePair<string, object?>[] _stageTags;
    private readonly KeyValuePair<string, object?>[] _sourceTags;

    public PipelineMetrics(PipelinePlan plan)
    {
        _plan = plan;
        _pipelineTag = SluiceInstruments.PipelineTag(plan.Id);
        // Indexed by stage and source index (which need not start at 0 or follow the lists' order).
        _stageTags = new KeyValuePair<string, object?>[plan.Stages.Count == 0 ? 0 : plan.Stages.Max(s => s.Index) + 1];
        foreach (var stage in plan.Stages)
        {
            _stageTags[stage.Index] = SluiceInstruments.StageTag(stage.Name);
        }

        _sourceTags = new KeyValuePair<string, object?>[plan.Sources.Count == 0 ? 0 : plan.Sources.Max(s => s.Index) + 1];
        foreach (var source in plan.Sources)
        {
            _sourceTags[source.Index] = SluiceInstruments.SourceTag(source.Name);
        }
    }

    public string PipelineId => _plan.Id;

    public void OnTaskReport(TaskReport report)
    {
        var key = (report.Stage, report.Task);
        _tasks[key] = report;
    }

    public void OnSourceReport(SourceReport report)
    {
        var key = (report.Source, report.Partition);
        _sources.TryGetValue(key, out var last);
        _sources[key] = report;
        if ((uint)report.Source >= (uint)_sourceTags.Length)
        {
            return;
        }

        var source = _sourceTags[report.Source];
        Add(SluiceInstruments.SourceInvalidRecords, Delta(report.InvalidRecords, last?.InvalidRecords), source);
        Add(SluiceInstruments.DeadLetters, Delta(report.DeadLetters, last?.DeadLetters), source);
    }

    /// <summary>Per stage: wall clock minus the slowest task's watermark, once every task has one.</summary>
    public void ObserveWatermarkLag(long nowMilliseconds, List<System.Diagnostics.Metrics.Measurement<long>> into)
    {
        foreach (var stage in _plan.Stages)
        {
            var watermark = long.MaxValue;
            for (var t = 0; t < stage.Parallelism && watermark != long.MinValue; t++)
            {
                watermark = _tasks.TryGetValue((stage.Index, t), out var r) ? Math.Min(watermark, r.Watermark) : long.MinValue;
            }

            if (watermark is not long.MinValue and not long.MaxValue)
            {
                into.Add(new(Math.Max(0, nowMilliseconds - watermark), _pipelineTag, _stageTags[stage.Index]));
            }
        }
    }

    public void ObserveStateEntries(List<System.Diagnostics.Metrics.Measurement<long>> into)
    {
        foreach (var stage in _plan.Stages)
        {
            long entries = 0;
            var reported = false;
            for (var t = 0; t < stage.Parallelism; t++)
            {
                if (_tasks.TryGetValue((stage.Index, t), out var r))
                {
                    entries += r.StateEntries;
                    reported = true;
                }
            }

            if (reported)
            {
                into.Add(new(entries, _pipelineTag, _stageTags[stage.Index]));
            }
        }
    }

    /// <summary>Per source partition: what the reader has not read yet, as the source last reported it.</summary>
    public void ObserveConsumerLag(List<System.Diagnostics.Metrics.Measurement<long>> into)
    {
        foreach (var (key, report) in _sources)
        {
            if (report.Backlog >= 0 && (uint)key.Source < (uint)_sourceTags.Length)
            {
                into.Add(new(report.Backlog, _pipelineTag, _sourceTags[key.Source], new("partition", key.Partition)));
            }
        }
    }

    /// <summary>What a counter gained since the previous report; a lower total means the task restarted from zero.</summary>
    private static long Delta(long total, long? previous) => previous is { } p && total >= p ? total - p : total;

    private void Add(System.Diagnostics.Metrics.Counter<long> counter, long delta, KeyValuePair<string, object?> tag) =>
        SluiceInstruments.AddPositive(counter, delta, _pipelineTag, tag);
}
