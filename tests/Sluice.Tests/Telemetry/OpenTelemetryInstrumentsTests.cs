using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Sluice.Functions;
using Sluice.Grains;
using Sluice.Sinks;
using Sluice.Telemetry;
using Sluice.Tests.Infrastructure;
using Sluice.Tests.Properties;
using Sluice.Time;
using Sluice.Windows;
using Xunit.Abstractions;

namespace Sluice.Tests.Telemetry;

/// <summary>
/// A checkpointing window pipeline runs on a real cluster, gets late records and one throwing record (so it restarts
/// from its checkpoint); OpenTelemetry's own SDK, set up with <see cref="SluiceTelemetryExtensions.AddSluiceInstrumentation(MeterProviderBuilder)"/>,
/// must then hold the instruments users chart, tagged with the pipeline, with non-zero values, and the checkpoint
/// and recovery spans.
/// </summary>
public sealed class OpenTelemetryInstrumentsTests(ITestOutputHelper output) : IDisposable
{
    private const string PipelineId = "otel";
    private const string Poison = "poison";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sluice-otel-" + Guid.NewGuid().ToString("N"));
    private static int _thrown;

    [Fact]
    public async Task Instruments_and_spans_reach_an_OpenTelemetry_exporter_with_the_pipeline_tag_and_non_zero_values()
    {
        var metrics = new List<MetricSnapshot>();
        var spans = new List<Activity>();
        using var meterProvider = Sdk.CreateMeterProviderBuilder().AddSluiceInstrumentation().AddInMemoryExporter(metrics).Build();
        using var tracerProvider = Sdk.CreateTracerProviderBuilder().AddSluiceInstrumentation().AddInMemoryExporter(spans).Build();

        var feed = new OutOfOrderEventFeed(seed: 7);
        var sink = new CollectingSink<WindowResult>("out");
        await using var cluster = await SluiceCluster.StartWithCheckpointsAsync(1, _root);
        cluster.Register(Define(feed, sink));
        var coordinator = cluster.Cluster.Client.GetGrain<ICheckpointCoordinatorGrain>(PipelineId);

        // Run until checkpoints complete, then send one record that throws once; after the restart, records far
        // behind the watermark. (Sent after the restart so they are counted in the attempt the status reports: late
        // records dropped before a restart may lie behind the checkpoint it resumes from and not be read again.)
        await FeedUntilAsync(feed, async () => (await coordinator.GetHistoryAsync()).Count(c => c.State == CheckpointState.Completed) >= 2, "two checkpoints");
        var now = feed.Partition(0)[^1].Ts;
        feed.Source.Add(0, new Event(Poison, now, 1), now);
        await FeedUntilAsync(feed, async () => (await coordinator.GetRecoveryAsync()).Restarts >= 1, "the restart");
        await FeedUntilAsync(feed, async () => (await coordinator.GetRecoveryAsync()).RecoveryMilliseconds.Count >= 1, "a checkpoint after the restart");
        for (var p = 0; p < feed.Partitions; p++)
        {
            feed.Source.Add(p, new Event("late", 0, 1), 0);
        }

        await FeedUntilAsync(feed, async () => (await cluster.StatusAsync(PipelineId)).LateRecordsDropped > 0, "late records counted");
        feed.Append(3);
        await Task.Delay(TimeSpan.FromSeconds(2)); // one more round of task reports (each task reports about once a second)
        output.WriteLine(SluiceCluster.Describe(await cluster.StatusAsync(PipelineId)));

        meterProvider.ForceFlush();
        var values = Summarize(metrics);
        foreach (var (name, value) in values.OrderBy(v => v.Key))
        {
            output.WriteLine($"{name} = {value}");
        }

        foreach (var name in new[]
        {
            "sluice.source.records_in", "sluice.stage.records_in", "sluice.stage.records_out", "sluice.stage.records_late",
            "sluice.stage.watermark_lag", "sluice.stage.state_entries", "sluice.checkpoints.completed", "sluice.checkpoint.duration",
            "sluice.checkpoint.size", "sluice.pipeline.restarts",
        })
        {
            Assert.True(values.TryGetValue(name, out var value), $"{name} was not exported; got {string.Join(", ", values.Keys.Order())}");
            Assert.True(value > 0, $"{name} should be above zero for pipeline '{PipelineId}', was {value}");
        }

        // One series per quantity: the untagged totals these replaced are gone.
        foreach (var retired in new[] { "sluice.source.records", "sluice.task.records_in", "sluice.records.late", "sluice.records.invalid" })
        {
            Assert.DoesNotContain(metrics, m => m.MeterName == "Sluice" && m.Name == retired);
        }

        // Alignment can take 0 ms; its histogram must still have recorded every completed checkpoint.
        Assert.True(values.ContainsKey("sluice.checkpoint.alignment"), "sluice.checkpoint.alignment was not exported");
        Assert.True(values.ContainsKey("sluice.source.consumer_lag"), "sluice.source.consumer_lag was not exported");
        Assert.Contains(metrics, m => m.MeterName == "Microsoft.Orleans");

        tracerProvider.ForceFlush();
        var checkpoints = spans.Where(s => s.OperationName == "sluice.checkpoint" && (string?)s.GetTagItem("sluice.pipeline") == PipelineId).ToList();
        Assert.True(checkpoints.Count >= 2, $"expected checkpoint spans, got {checkpoints.Count}");
        Assert.Contains(checkpoints, s => s.Status == ActivityStatusCode.Unset && s.Duration > TimeSpan.Zero);
        var recovery = Assert.Single(spans, s => s.OperationName == "sluice.recovery" && (string?)s.GetTagItem("sluice.pipeline") == PipelineId);
        Assert.Contains(Poison, (string?)recovery.GetTagItem("sluice.restart.reason") ?? string.Empty);
    }

    /// <summary>Sum of each Sluice metric's points for this pipeline (counters: totals; histograms: sums; gauges: last values).</summary>
    private static Dictionary<string, long> Summarize(List<MetricSnapshot> metrics)
    {
        var values = new Dictionary<string, long>();
        foreach (var metric in metrics.Where(m => m.MeterName == "Sluice"))
        {
            foreach (var point in metric.MetricPoints)
            {
                var ours = false;
                foreach (var tag in point.Tags)
                {
                    ours |= tag.Key == "pipeline" && (string?)tag.Value == PipelineId;
                }

                if (!ours)
                {
                    continue;
                }

                var value = metric.MetricType switch
                {
                    MetricType.LongSum => point.GetSumLong(),
                    MetricType.LongGauge => point.GetGaugeLastValueLong(),
                    MetricType.Histogram => (long)point.GetHistogramSum() + point.GetHistogramCount(),
                    _ => 0,
                };
                values[metric.Name] = Math.Max(values.GetValueOrDefault(metric.Name), 0) + value;
            }
        }

        return values;
    }

    private static Pipeline Define(OutOfOrderEventFeed feed, CollectingSink<WindowResult> sink)
    {
        var pipeline = Pipeline.Create(PipelineId, o =>
        {
            o.MaxParallelism = 4;
            o.CheckpointInterval = TimeSpan.FromMilliseconds(200);
            o.Restart.InitialBackoff = TimeSpan.FromMilliseconds(100);
        });
        pipeline.From(feed.Source)
            .WithTimestamps(e => e.Ts, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromMilliseconds(40)))
            .Map(e => e.Key == Poison && Interlocked.Exchange(ref _thrown, 1) == 0 ? throw new InvalidOperationException("poison record") : e)
            .KeyBy(e => e.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(100)))
            .Aggregate(Aggregates.Sum<Event>(e => e.Value), (key, window, sum) => new WindowResult(key, window.Start, window.End, sum), "sums")
            .SinkTo(sink);
        return pipeline;
    }

    private static async Task FeedUntilAsync(OutOfOrderEventFeed feed, Func<Task<bool>> condition, string what)
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        while (!await condition())
        {
            Assert.False(patience.IsCancellationRequested, $"timed out waiting for {what}");
            feed.Append(1);
            await Task.Delay(100);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
