using System.Runtime.CompilerServices;
using Sluice.Functions;
using Sluice.ProcessFunctions;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Tests.Infrastructure;
using Sluice.Windows;

namespace Sluice.Tests.Windows;

/// <summary>
/// The clickstream sessionisation example of the README ("Sessions and late data"), run through a real silo. The
/// pipeline code between the README markers below is the README's code block, character for character (checked).
/// </summary>
public sealed class ClickstreamSessionsExampleTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Clicks_become_sessions_per_user_and_a_late_click_updates_its_session()
    {
        await using var cluster = await SluiceCluster.StartAsync(1);
        var clicks = new InMemorySource<Click>("clicks", 1);
        var sessionSink = new CollectingSink<UserSession>("sessions");
        var lateSink = new CollectingSink<Click>("late-clicks");
        var pipeline = Pipeline.Create($"sessions-{Guid.NewGuid():N}");

        // README:begin
        var lateClicks = new OutputTag<Click>("late-clicks");
        var sessions = pipeline.From(clicks)
            .KeyBy(c => c.User)
            .Window(Session.WithGap(TimeSpan.FromMinutes(30)))
            .AllowedLateness(TimeSpan.FromMinutes(10))           // late clicks update their session for 10 more minutes
            .SideOutputLateData(lateClicks)                      // later ones go here instead of being dropped
            .Aggregate(Aggregates.Count<Click>(), new ToSession(), "sessions");
        sessions.SinkTo(sessionSink);                            // upsert by (User, Start): a late update replaces its row
        sessions.SideOutput(lateClicks).SinkTo(lateSink);
        // README:end
        cluster.Register(pipeline);

        clicks.Add(0, new Click("ann", "/home"), At(0));
        clicks.Add(0, new Click("bob", "/home"), At(5));
        clicks.Add(0, new Click("ann", "/cart"), At(10));
        clicks.Add(0, new Click("ann", "/pay"), At(35));      // within 30 min of the click at 10: the same session
        clicks.AddWatermark(0, At(70));                       // both sessions have ended: they fire on time
        clicks.Add(0, new Click("ann", "/coupon"), At(30));   // late, inside ann's session [0, 65), within the lateness
        clicks.AddWatermark(0, At(80));                       // bob's session ([5, 35) + 10 min lateness) is gone
        clicks.Add(0, new Click("bob", "/help"), At(20));     // too late: side output
        clicks.CompleteAll();

        await sessionSink.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        await lateSink.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(
            [
                new UserSession("ann", At(0), At(65), 3, WindowFiring.OnTime),
                new UserSession("ann", At(0), At(65), 4, WindowFiring.Late),
                new UserSession("bob", At(5), At(35), 1, WindowFiring.OnTime),
            ],
            sessionSink.Values.OrderBy(s => s.User).ThenBy(s => s.Clicks).ToList());
        Assert.Equal([new Click("bob", "/help")], lateSink.Values.ToList());
    }

    [Fact]
    public void The_readme_shows_the_pipeline_this_test_runs()
    {
        var root = RepositoryRoot();
        var readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        var source = File.ReadAllText(SourcePath()).ReplaceLineEndings("\n");
        var begin = source.IndexOf("// README:begin\n", StringComparison.Ordinal) + "// README:begin\n".Length;
        var end = source.IndexOf("        // README:end", StringComparison.Ordinal);
        var snippet = string.Join('\n', source[begin..end].TrimEnd('\n').Split('\n').Select(l => l.Length >= 8 ? l[8..] : l.TrimStart()));
        Assert.Contains(snippet, readme);
    }

    private static long At(int minutes) => (long)(minutes * Minute.TotalMilliseconds);

    private static string SourcePath([CallerFilePath] string path = "") => path;

    private static string RepositoryRoot()
    {
        var directory = Path.GetDirectoryName(SourcePath())!;
        while (!File.Exists(Path.Combine(directory, "README.md")))
        {
            directory = Path.GetDirectoryName(directory) ?? throw new InvalidOperationException("README.md not found above the test source.");
        }

        return directory;
    }

    [GenerateSerializer, Immutable]
    public sealed record Click([property: Id(0)] string User, [property: Id(1)] string Page);

    [GenerateSerializer, Immutable]
    public sealed record UserSession(
        [property: Id(0)] string User,
        [property: Id(1)] long Start,
        [property: Id(2)] long End,
        [property: Id(3)] long Clicks,
        [property: Id(4)] WindowFiring Firing);

    /// <summary>A session's click count with its window, and whether this is its on-time result or a late update.</summary>
    private sealed class ToSession : IProcessWindowFunction<long, UserSession, string>
    {
        public void Process(string user, WindowContext context, IReadOnlyList<long> counts, ICollector<UserSession> output) =>
            output.Collect(new UserSession(user, context.Window.Start, context.Window.End, counts[0], context.Firing));
    }
}
