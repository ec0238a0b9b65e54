using Sluice.Functions;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Time;
using Sluice.Windows;

namespace Sluice.Silo.Demo;

/// <summary>
/// The demo job: clicks per user per tumbling window, then the top users of each window. Two keyed stages:
/// by user (128 key groups) and by window end (a handful of key groups: there is one key per window).
/// </summary>
internal static class ClickPipeline
{
    private static readonly string[] Pages = ["/", "/search", "/product", "/cart", "/checkout", "/help"];

    public static GeneratorSource<ClickEvent> Source(DemoOptions options, long? startMilliseconds = null) =>
        new(
            "clicks",
            new GeneratorSourceOptions
            {
                Partitions = options.Partitions,
                RecordsPerSecond = options.RecordsPerSecond,
                KeyCount = options.Users,
                MaxOutOfOrderness = options.MaxOutOfOrderness,
                StartTime = startMilliseconds is { } start ? DateTimeOffset.FromUnixTimeMilliseconds(start) : null,
            },
            e => new ClickEvent(UserName(e.Key), Pages[(int)(e.Random % (ulong)Pages.Length)], e.Timestamp));

    public static Pipeline Create(DemoOptions options, SourceDefinition<ClickEvent> source, params SinkDefinition<TopUsers>[] sinks) =>
        Create(options, source, resume: true, sinks);

    /// <param name="resume">Resume from the newest checkpoint; false when the source does not outlive the process.</param>
    public static Pipeline Create(DemoOptions options, SourceDefinition<ClickEvent> source, bool resume, params SinkDefinition<TopUsers>[] sinks)
    {
        var pipeline = Pipeline.Create(options.PipelineId, o =>
        {
            o.CheckpointInterval = options.CheckpointInterval;
            o.ResumeFromCheckpoint = resume;
        });
        var top = pipeline.From(source)
            .WithTimestamps(c => c.Timestamp, WatermarkStrategy.BoundedOutOfOrderness(options.MaxOutOfOrderness).WithIdleness(TimeSpan.FromSeconds(10)))
            .KeyBy(c => c.UserId)
            .Window(Tumbling.Of(options.Window))
            .Aggregate(Aggregates.Count<ClickEvent>(), (user, window, clicks) => new UserClicks(user, window.End, clicks), "clicks-per-user")
            .KeyBy(c => c.WindowEnd, maxParallelism: 8)
            .Window(Tumbling.Of(options.Window))
            .Process(new TopUsersFunction(options.TopN), "top-users");
        foreach (var sink in sinks)
        {
            top.SinkTo(sink);
        }

        return pipeline;
    }

    public static string Format(TopUsers top) =>
        $"top users, window ending {DateTimeOffset.FromUnixTimeMilliseconds(top.WindowEnd):HH:mm:ss}: "
        + string.Join(", ", top.Users.Select(u => $"{u.UserId} ({u.Clicks})"));

    private static string UserName(long key) => string.Create(null, stackalloc char[24], $"user-{key}");
}
