using Sluice;
using Sluice.Functions;
using Sluice.Sinks;
using Sluice.Sources;
using Sluice.Time;
using Sluice.Windows;

namespace OrderTotals;

/// <summary>An order placed by a customer at an event time (epoch milliseconds).</summary>
[GenerateSerializer, Immutable]
public sealed record Order([property: Id(0)] string Customer, [property: Id(1)] long Amount, [property: Id(2)] long Timestamp);

/// <summary>What a customer ordered in one 10-second window.</summary>
[GenerateSerializer, Immutable]
public sealed record CustomerTotal([property: Id(0)] string Customer, [property: Id(1)] long WindowStart, [property: Id(2)] long Amount);

/// <summary>The sample's pipeline: order amounts summed per customer per 10-second event-time window.</summary>
public static class OrderTotalsPipeline
{
    public const string Id = "order-totals";

    /// <summary>A fixed, out-of-order batch of orders in two partitions; the source ends once they are read.</summary>
    public static InMemorySource<Order> Source()
    {
        var source = new InMemorySource<Order>("orders", partitions: 2);
        Order[] orders =
        [
            new("alice", 5, 1_000), new("bob", 3, 2_000), new("alice", 7, 4_000), new("carol", 9, 9_999),
            new("bob", 4, 3_000), new("bob", 1, 12_000), new("alice", 2, 15_000), new("carol", 1, 10_000),
        ];
        for (var i = 0; i < orders.Length; i++)
        {
            source.Add(i % 2, orders[i], orders[i].Timestamp);
        }

        source.CompleteAll();
        return source;
    }

    /// <param name="sink">Where the totals go; the console when null.</param>
    public static Pipeline Create(SourceDefinition<Order> source, SinkDefinition<CustomerTotal>? sink)
    {
        var pipeline = Pipeline.Create(Id, o => o.ResumeFromCheckpoint = false);
        pipeline.From(source)
            .WithTimestamps(o => o.Timestamp, WatermarkStrategy.BoundedOutOfOrderness(TimeSpan.FromSeconds(5)))
            .KeyBy(o => o.Customer)
            .Window(Tumbling.Of(TimeSpan.FromSeconds(10)))
            .Aggregate(Aggregates.Sum<Order>(o => o.Amount), (customer, window, amount) => new CustomerTotal(customer, window.Start, amount), "totals")
            .SinkTo(sink ?? new ConsoleSink<CustomerTotal>("console", Format));
        return pipeline;
    }

    public static string Format(CustomerTotal t) => $"total {t.Customer} window={t.WindowStart} amount={t.Amount}";
}
