using Microsoft.Extensions.DependencyInjection;
using Sluice.Hosting;
using Sluice.Queries;
using Sluice.Sinks;
using Sluice.Sources;
using Xunit.Abstractions;

namespace Sluice.Tests.QueryableState;

/// <summary>Live state queries through ISluiceClient against real silos: values against an oracle, and the typed errors.</summary>
public sealed class LiveStateQueryTests(QueryClusterFixture fixture, ITestOutputHelper output) : IClassFixture<QueryClusterFixture>
{
    private const int Users = 20;
    private const long RoundLength = 100;

    [Fact]
    public async Task Queried_totals_equal_the_oracle_of_the_input_up_to_each_answers_watermark_while_the_pipeline_runs()
    {
        const string id = "query-oracle";
        var source = new InMemorySource<(string User, long Amount)>("in", 1);
        Register(id, source);
        var feed = new RoundFeed(source, seed: Random.Shared.Next());
        output.WriteLine($"seed {feed.Seed}");
        var users = Enumerable.Range(0, Users).Select(u => $"u{u}").ToArray();
        var watermarksSeen = new HashSet<long>();
        long lastCheckpoint = 0;
        var answersChecked = 0;

        for (var round = 1; round <= 40; round++)
        {
            feed.AppendRound(round);
            if (round % 10 == 0)
            {
                // Let processing catch up now and then, so answers at several different watermarks are seen mid-run.
                await WaitForAsync(async () => (await Query(id, users)).Any(a => a.EventTimeWatermark >= feed.Watermarks[^1]), $"watermark {feed.Watermarks[^1]}");
            }

            foreach (var (user, answer) in users.Zip(await Query(id, users)))
            {
                Check(feed, user, answer);
                watermarksSeen.Add(answer.EventTimeWatermark ?? long.MinValue);
                Assert.True((answer.LastCompletedCheckpointId ?? 0) >= lastCheckpoint, "the last completed checkpoint went back");
                lastCheckpoint = answer.LastCompletedCheckpointId ?? 0;
                answersChecked++;
            }
        }

        source.CompleteAll();
        await WaitForAsync(async () => (await Query(id, users)).All(a => a.EventTimeWatermark == long.MaxValue), "the end of input in every key group");
        foreach (var (user, answer) in users.Zip(await Query(id, users)))
        {
            Check(feed, user, answer);
            Assert.Equal(feed.Total(user, long.MaxValue), answer.Value);
        }

        var pending = await fixture.Client.QueryManyAsync<string, IReadOnlyDictionary<long, long>>(id, "pending", users);
        Assert.All(pending, p => Assert.False(p.Found, "every waiting amount was added once the input ended"));
        output.WriteLine($"{answersChecked} answers checked; watermarks seen mid-run: {string.Join(", ", watermarksSeen.Order())}; last checkpoint {lastCheckpoint}");
        Assert.True(watermarksSeen.Count(w => w > long.MinValue && w < long.MaxValue) >= 3, "answers should come from several watermarks mid-run");
        Assert.True(lastCheckpoint > 0, "answers should name a completed checkpoint");
    }

    [Fact]
    public async Task Unknown_pipelines_and_states_and_wrong_key_or_value_types_are_typed_errors()
    {
        const string id = "query-errors";
        var source = new InMemorySource<(string User, long Amount)>("in", 1);
        Register(id, source);
        source.Add(0, ("alice", 5), 10);
        source.Add(0, ("alice", 7), 500);
        source.AddWatermark(0, 100);
        await WaitForAsync(async () => (await fixture.Client.QueryAsync<string, long>(id, "totals", "alice")).Found, "alice's total");

        var total = await fixture.Client.QueryAsync<string, long>(id, "totals", "alice");
        Assert.Equal((true, 5L, 100L), (total.Found, total.Value, total.EventTimeWatermark));
        var waiting = await fixture.Client.QueryAsync<string, IReadOnlyDictionary<long, long>>(id, "pending", "alice");
        Assert.Equal(new Dictionary<long, long> { [500] = 7 }, waiting.Value);
        var nobody = await fixture.Client.QueryAsync<string, long>(id, "totals", "nobody");
        Assert.False(nobody.Found);

        await Assert.ThrowsAsync<PipelineNotFoundException>(() => fixture.Client.QueryAsync<string, long>("no-such-pipeline", "totals", "alice"));
        var unknown = await Assert.ThrowsAsync<QueryableStateNotFoundException>(() => fixture.Client.QueryAsync<string, long>(id, "no-such-state", "alice"));
        Assert.Equal("no-such-state", unknown.StateName);
        await Assert.ThrowsAsync<QueryableStateTypeException>(() => fixture.Client.QueryAsync<int, long>(id, "totals", 42));
        await Assert.ThrowsAsync<QueryableStateTypeException>(() => fixture.Client.QueryAsync<string, string>(id, "totals", "alice"));
        await Assert.ThrowsAsync<ArgumentException>(() => fixture.Client.QueryAsync<string, long>(id, "not/a/name", "alice"));
    }

    [Fact]
    public async Task Queries_while_a_killed_silo_restarts_the_pipeline_answer_as_the_oracle_or_say_the_key_group_is_restoring()
    {
        const string id = "query-recovery";
        var root = Directory.CreateTempSubdirectory("sluice-query-recovery-").FullName;
        try
        {
            await using var cluster = await Infrastructure.SluiceCluster.StartWithCheckpointsAsync(2, root);
            var client = new Microsoft.Extensions.DependencyInjection.ServiceCollection()
                .AddSingleton(cluster.Cluster.Client)
                .AddSluiceClient()
                .BuildServiceProvider()
                .GetRequiredService<ISluiceClient>();
            var source = new InMemorySource<(string User, long Amount)>("in", 1);
            cluster.Register(CreatePipeline(id, source));
            var feed = new RoundFeed(source, seed: Random.Shared.Next());
            output.WriteLine($"seed {feed.Seed}");
            var users = Enumerable.Range(0, Users).Select(u => $"u{u}").ToArray();
            var coordinator = cluster.Cluster.Client.GetGrain<Grains.ICheckpointCoordinatorGrain>(id);
            Task? crash = null;
            int answered = 0, restoring = 0, unavailable = 0;
            for (var round = 1; round <= 60; round++)
            {
                feed.AppendRound(round);
                if (crash is null && round >= 10 && (await coordinator.GetHistoryAsync()).Count(c => c.State == Grains.CheckpointState.Completed) >= 2)
                {
                    crash = cluster.CrashSiloAsync(cluster.Cluster.SecondarySilos[0]);
                }

                try
                {
                    foreach (var (user, answer) in users.Zip(await client.QueryManyAsync<string, long>(id, "totals", users)))
                    {
                        Check(feed, user, answer);
                        answered++;
                    }
                }
                catch (KeyGroupRestoringException)
                {
                    restoring++;
                }
                catch (Exception ex) when (ex is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException)
                {
                    unavailable++; // calls to the dead silo until the cluster declares it dead
                }

                await Task.Delay(50);
            }

            Assert.NotNull(crash);
            await crash;
            source.CompleteAll();
            await WaitForAsync(
                async () =>
                {
                    try
                    {
                        return (await client.QueryManyAsync<string, long>(id, "totals", users)).All(a => a.EventTimeWatermark == long.MaxValue);
                    }
                    catch (Exception ex) when (ex is KeyGroupRestoringException or SiloUnavailableException or OrleansMessageRejectionException or TimeoutException)
                    {
                        return false;
                    }
                },
                "the end of input in every key group");
            foreach (var (user, answer) in users.Zip(await client.QueryManyAsync<string, long>(id, "totals", users)))
            {
                Assert.Equal(feed.Total(user, long.MaxValue), answer.Value);
            }

            var recovery = await coordinator.GetRecoveryAsync();
            output.WriteLine($"{answered} answers checked, {restoring} restoring, {unavailable} unavailable; restarts {recovery.Restarts} ({recovery.LastRestartReason})");
            Assert.True(recovery.Restarts >= 1, "the killed silo should have restarted the pipeline");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private void Register(string id, InMemorySource<(string User, long Amount)> source) => fixture.Cluster.Register(CreatePipeline(id, source));

    private static Pipeline CreatePipeline(string id, InMemorySource<(string User, long Amount)> source)
    {
        var pipeline = Pipeline.Create(id, o =>
        {
            o.MaxParallelism = 8;
            o.CheckpointInterval = TimeSpan.FromMilliseconds(300);
            o.ResumeFromCheckpoint = false;
        });
        pipeline.From(source)
            .KeyBy(r => r.User)
            .Process(() => new TotalsUpToWatermark(), "totals")
            .SinkTo(new CollectingSink<long>("out"));
        return pipeline;
    }

    private Task<IReadOnlyList<StateQueryResult<long>>> Query(string id, string[] users) =>
        fixture.Client.QueryManyAsync<string, long>(id, "totals", users);

    /// <summary>The answer's value must be the oracle's total at the answer's own watermark, which must be one the input carried.</summary>
    private static void Check(RoundFeed feed, string user, StateQueryResult<long> answer)
    {
        var watermark = answer.EventTimeWatermark ?? long.MinValue;
        Assert.True(
            watermark is long.MinValue or long.MaxValue || feed.Watermarks.Contains(watermark),
            $"{user}: watermark {watermark} is not one of the input's");
        var expected = feed.Total(user, watermark);
        Assert.True(
            answer.Found ? answer.Value == expected : expected == 0,
            $"{user} at watermark {watermark}: the query answered {(answer.Found ? answer.Value : "nothing")}, the oracle {expected}");
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!await condition())
        {
            if (cts.IsCancellationRequested)
            {
                throw new TimeoutException($"{what} did not happen within 60 s");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Input in rounds on one partition (so every key group sees records and watermarks in exactly this order): round r has
    /// random users' amounts with timestamps from 150 ms behind the previous watermark to 150 ms past this round's, some of
    /// them late, then the watermark r * 100.
    /// </summary>
    private sealed class RoundFeed(InMemorySource<(string User, long Amount)> source, int seed)
    {
        private readonly Random _random = new(seed);
        private readonly List<(string User, long Ts, long Amount)> _onTime = [];
        private long _watermark = long.MinValue;

        public int Seed { get; } = seed;

        public List<long> Watermarks { get; } = [];

        public void AppendRound(int round)
        {
            var watermark = round * RoundLength;
            for (var i = 0; i < 30; i++)
            {
                var user = $"u{_random.Next(Users)}";
                var ts = watermark - RoundLength - 150 + _random.Next(300 + (int)RoundLength);
                var amount = 1 + _random.Next(9);
                source.Add(0, (user, amount), ts);
                if (ts > _watermark)
                {
                    _onTime.Add((user, ts, amount));
                }
            }

            source.AddWatermark(0, watermark);
            _watermark = watermark;
            Watermarks.Add(watermark);
        }

        /// <summary>The oracle: the user's on-time amounts with timestamps up to <paramref name="watermark"/>.</summary>
        public long Total(string user, long watermark) =>
            _onTime.Where(r => r.User == user && r.Ts <= watermark).Sum(r => r.Amount);
    }
}
