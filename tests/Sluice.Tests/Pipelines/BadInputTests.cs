using Sluice.Functions;
using Sluice.Grains;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Tests.Infrastructure;
using Sluice.Windows;

namespace Sluice.Tests.Pipelines;

public sealed class BadInputTests
{
    [Fact]
    public async Task With_SkipAndCount_throwing_user_functions_and_null_keys_drop_only_the_bad_records_and_are_counted()
    {
        await using var cluster = await SluiceCluster.StartAsync(1);
        var source = new InMemorySource<(string? Key, int Value)>("in", 2);
        var sink = new CollectingSink<(string Key, long Sum)>("out");
        var p = Pipeline.Create("bad-input", o =>
        {
            o.MaxParallelism = 4;
            o.OnError = ErrorPolicy.SkipAndCount;
        });
        p.From(source)
            .Map(r => r.Value == 13 ? throw new InvalidOperationException("unlucky record") : r)
            .KeyBy(r => r.Key!)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(100)))
            .Aggregate(Aggregates.Sum<(string? Key, int Value)>(r => r.Value), (key, _, sum) => (key, sum))
            .SinkTo(sink);
        cluster.Register(p);

        var expected = new Dictionary<string, long>();
        var bad = 0;
        for (var i = 0; i < 200; i++)
        {
            var key = i % 17 == 0 ? null : $"k{i % 5}";
            var value = i % 20 == 13 ? 13 : 1;
            source.Add(i % 2, (key, value), 10);
            if (key is null || value == 13)
            {
                bad++;
            }
            else
            {
                expected[key] = expected.GetValueOrDefault(key) + value;
            }
        }

        source.CompleteAll();
        await sink.Completion.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(expected.OrderBy(e => e.Key), sink.Values.ToDictionary(v => v.Key, v => v.Sum).OrderBy(e => e.Key));
        var status = await WaitForAsync(cluster, "bad-input", s => s.InvalidRecords == bad);
        Assert.Equal(bad, status.InvalidRecords);
        Assert.NotNull(status.LastError);
    }

    [Fact]
    public async Task By_default_a_throwing_user_function_without_checkpoints_FAILS_the_pipeline_with_the_reason()
    {
        await using var cluster = await SluiceCluster.StartAsync(1);
        var source = new InMemorySource<(string Key, int Value)>("in", 2);
        var sink = new CollectingSink<(string Key, long Sum)>("out");
        var p = Pipeline.Create("fails", o => o.MaxParallelism = 4);
        p.From(source)
            .KeyBy(r => r.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(100)))
            .Aggregate(Aggregates.Sum<(string Key, int Value)>(r => r.Value == 13 ? throw new InvalidOperationException("unlucky record") : r.Value), (key, _, sum) => (key, sum))
            .SinkTo(sink);
        cluster.Register(p);
        for (var i = 0; i < 50; i++)
        {
            source.Add(i % 2, ($"k{i % 5}", i == 26 ? 13 : 1), 10);
        }

        source.CompleteAll();
        var status = await WaitForAsync(cluster, "fails", s => s.State == PipelineState.Failed);

        Assert.Equal(PipelineState.Failed, status.State);
        Assert.Contains("InvalidOperationException", status.LastError, StringComparison.Ordinal);
        Assert.Contains("unlucky record", status.LastError, StringComparison.Ordinal);
        Assert.Equal(0, status.InvalidRecords);
    }

    [Fact]
    public async Task By_default_a_throwing_source_side_function_without_checkpoints_FAILS_the_pipeline_with_the_reason()
    {
        await using var cluster = await SluiceCluster.StartAsync(1);
        var source = new InMemorySource<(string Key, int Value)>("in", 2);
        var sink = new CollectingSink<(string Key, long Sum)>("out");
        var p = Pipeline.Create("source-fails", o => o.MaxParallelism = 4);
        p.From(source)
            .Map(r => r.Value == 13 ? throw new InvalidOperationException("unlucky record") : r)
            .KeyBy(r => r.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(100)))
            .Aggregate(Aggregates.Sum<(string Key, int Value)>(r => r.Value), (key, _, sum) => (key, sum))
            .SinkTo(sink);
        cluster.Register(p);
        for (var i = 0; i < 50; i++)
        {
            source.Add(i % 2, ($"k{i % 5}", i == 26 ? 13 : 1), 10);
        }

        source.CompleteAll();
        var status = await WaitForAsync(cluster, "source-fails", s => s.State == PipelineState.Failed);

        Assert.Equal(PipelineState.Failed, status.State);
        Assert.Contains("unlucky record", status.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_map_with_a_dead_letter_tag_sends_each_failed_record_to_its_side_output_and_the_rest_on()
    {
        await using var cluster = await SluiceCluster.StartAsync(1);
        var source = new InMemorySource<(string Key, int Value)>("in", 2);
        var sink = new CollectingSink<(string Key, long Sum)>("out");
        var deadLetters = new CollectingSink<FailedRecord<(string Key, int Value)>>("dead-letters");
        var tag = new Sluice.ProcessFunctions.OutputTag<FailedRecord<(string Key, int Value)>>("failed");
        var p = Pipeline.Create("dead-letters", o => o.MaxParallelism = 4);
        var checkedValues = p.From(source)
            .Map(r => r.Value == 13 ? throw new InvalidOperationException($"unlucky record of {r.Key}") : r, "check")
            .OnError(ErrorPolicy.DeadLetter(tag));
        checkedValues.SideOutput(tag).SinkTo(deadLetters);
        checkedValues
            .KeyBy(r => r.Key)
            .Window(Tumbling.Of(TimeSpan.FromMilliseconds(100)))
            .Aggregate(Aggregates.Sum<(string Key, int Value)>(r => r.Value), (key, _, sum) => (key, sum))
            .SinkTo(sink);
        cluster.Register(p);

        var expected = new Dictionary<string, long>();
        var bad = new List<(string, int)>();
        for (var i = 0; i < 200; i++)
        {
            var record = ($"k{i % 5}", i % 20 == 13 ? 13 : 1);
            source.Add(i % 2, record, 10);
            if (record.Item2 == 13)
            {
                bad.Add(record);
            }
            else
            {
                expected[record.Item1] = expected.GetValueOrDefault(record.Item1) + record.Item2;
            }
        }

        source.CompleteAll();
        await sink.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        await deadLetters.Completion.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(expected.OrderBy(e => e.Key), sink.Values.ToDictionary(v => v.Key, v => v.Sum).OrderBy(e => e.Key));
        Assert.Equal(bad.Order(), deadLetters.Values.Select(f => f.Record).Order());
        Assert.All(deadLetters.Values, f =>
        {
            Assert.Equal("check", f.Operator);
            Assert.Equal(typeof(InvalidOperationException).FullName, f.ExceptionType);
            Assert.Equal($"unlucky record of {f.Record.Key}", f.Message);
        });
        var status = await cluster.StatusAsync("dead-letters");
        Assert.NotEqual(PipelineState.Failed, status.State);
    }

    private static async Task<PipelineStatus> WaitForAsync(SluiceCluster cluster, string id, Func<PipelineStatus, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        PipelineStatus status;
        do
        {
            status = await cluster.StatusAsync(id);
            if (condition(status))
            {
                return status;
            }

            await Task.Delay(200);
        }
        while (DateTime.UtcNow < deadline);
        return status;
    }
}
