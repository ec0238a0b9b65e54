namespace Sluice.Silo.Jobs.Fraud;

/// <summary>A generated record: a rule version (for the rules topic) or a transaction for a partition of the transactions topic.</summary>
internal readonly record struct GeneratedRecord(FraudRule? Rule, CardTransaction? Transaction, int Partition);

/// <summary>
/// The fraud job's demo data, the same for the same seed and start: transactions whose event time advances
/// <c>1000 * TimeScale / TransactionsPerSecond</c> ms each, up to 90% of the out-of-orderness bound out of order; about 4%
/// small charges (under 1.00), three in four followed on the same card by a large one 5-100 s later (so some fall outside
/// a one-minute window); a few large charges with no small one before; and rule changes every
/// <see cref="FraudGeneratorOptions.RuleChangeEvery"/> transactions, announced <see cref="FraudGeneratorOptions.RuleLead"/> ahead.
/// </summary>
internal static class FraudGenerator
{
    public const string MainRule = "small-then-large";
    public const string TightRule = "tight";

    /// <summary>Event time of the closing transactions of a bounded run, after the last one: far enough to pass every window.</summary>
    public static readonly TimeSpan ClosingGap = TimeSpan.FromHours(1);

    public static IEnumerable<GeneratedRecord> Generate(FraudGeneratorOptions options, int partitions, long startMs, TimeSpan maxOutOfOrderness)
    {
        var random = new Random(options.Seed);
        var step = 1000.0 * options.TimeScale / options.TransactionsPerSecond;
        var jitter = (long)(maxOutOfOrderness.TotalMilliseconds * 0.9);
        var lead = (long)options.RuleLead.TotalMilliseconds;
        var followUps = new PriorityQueue<int, long>();
        yield return new GeneratedRecord(new FraudRule(MainRule, startMs, 1.00m, 500m, 60_000), null, 0);

        var clock = startMs;
        for (long i = 0; options.Transactions == 0 || i < options.Transactions; i++)
        {
            clock = startMs + (long)(i * step);
            if (i > 0 && i % options.RuleChangeEvery == 0)
            {
                yield return new GeneratedRecord(RuleChange((int)((i / options.RuleChangeEvery) - 1), clock + lead), null, 0);
            }

            int card;
            long cents;
            if (followUps.TryPeek(out var followed, out var due) && due <= clock)
            {
                followUps.Dequeue();
                card = followed;
                cents = random.Next(50_001, 200_000);
            }
            else
            {
                card = random.Next(options.Cards);
                var roll = random.NextDouble();
                if (roll < 0.04)
                {
                    cents = random.Next(1, 100);
                    if (random.NextDouble() < 0.75)
                    {
                        followUps.Enqueue(card, clock + random.Next(5_000, 100_001));
                    }
                }
                else
                {
                    cents = roll < 0.05 ? random.Next(50_001, 200_000) : random.Next(100, 50_000);
                }
            }

            var ts = clock - (jitter == 0 ? 0 : random.NextInt64(0, jitter + 1));
            yield return Transaction($"tx-{i}", card, cents / 100m, ts, partitions);
        }

        // A bounded run ends with one medium charge per partition an hour later, which moves the watermark past every
        // generated transaction, so each is judged (they alert on nothing themselves).
        for (var p = 0; p < partitions; p++)
        {
            yield return new GeneratedRecord(null, new CardTransaction($"tx-closing-{p}", $"card-closing-{p}", 10m, clock + (long)ClosingGap.TotalMilliseconds), p);
        }
    }

    /// <summary>The k-th rule change: add a tighter rule, change the main one, pause and delete the tight one, restore the main one.</summary>
    private static FraudRule RuleChange(int k, long ts) => (k % 5) switch
    {
        0 => new FraudRule(TightRule, ts, 5m, 250m, 30_000),
        1 => new FraudRule(MainRule, ts, 1m, 400m, 90_000),
        2 => new FraudRule(TightRule, ts, 5m, 250m, 30_000, Enabled: false),
        3 => new FraudRule(TightRule, ts, Deleted: true),
        _ => new FraudRule(MainRule, ts, 1m, 500m, 60_000),
    };

    private static GeneratedRecord Transaction(string id, int card, decimal amount, long ts, int partitions) =>
        new(null, new CardTransaction(id, $"card-{card}", amount, ts), card % partitions);
}
