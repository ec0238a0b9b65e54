using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Sluice.Tests.Kafka;

/// <summary>
/// Records, per silo, each time a source queue receiver opens a reader for a partition of a pipeline (the
/// receiver's "Queue {Queue} reads partition ..." log). A partition opened again means its queue moved to another
/// receiver, whose new reader starts from the topic's start position; the latest opening names the current reader.
/// </summary>
internal sealed class PartitionOpenings
{
    private const string Category = "Sluice.Sources";
    private readonly ConcurrentQueue<Opening> _openings = new();
    private long _sequence;

    public IReadOnlyList<Opening> All => _openings.OrderBy(o => o.Sequence).ToList();

    /// <summary>Adds the recording logger to a silo (pass to <c>SluiceCluster.StartAsync</c>'s silo configuration).</summary>
    public void Attach(ISiloBuilder silo)
    {
        silo.Services.AddSingleton<ILoggerProvider>(services => new Provider(this, services));
        silo.Services.Configure<LoggerFilterOptions>(o => o.AddFilter<Provider>(Category, LogLevel.Information));
    }

    /// <summary>The silo that opened each partition of <paramref name="pipeline"/> last.</summary>
    public Dictionary<int, string> CurrentReaders(string pipeline) =>
        All.Where(o => o.Pipeline == pipeline)
            .GroupBy(o => o.Partition)
            .ToDictionary(g => g.Key, g => g.Last().Silo);

    public int Count(string pipeline) => _openings.Count(o => o.Pipeline == pipeline);

    public static string Describe(IReadOnlyDictionary<int, string> readers) =>
        string.Join(", ", readers.OrderBy(r => r.Key).Select(r => $"p{r.Key}@{r.Value}"));

    public sealed record Opening(long Sequence, string Silo, string Pipeline, int Partition);

    private sealed class Provider(PartitionOpenings openings, IServiceProvider services) : ILoggerProvider
    {
        private string? _silo;

        public ILogger CreateLogger(string categoryName) =>
            categoryName.StartsWith(Category, StringComparison.Ordinal) ? new Logger(this) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        public void Dispose()
        {
        }

        private void Record(IReadOnlyList<KeyValuePair<string, object?>> state)
        {
            string? pipeline = null;
            int? partition = null;
            foreach (var (name, value) in state)
            {
                if (name == "Pipeline")
                {
                    pipeline = value as string;
                }
                else if (name == "Partition" && value is int p)
                {
                    partition = p;
                }
            }

            if (pipeline is not null && partition is { } part && state.Any(kv => kv.Key == "Queue"))
            {
                // Resolved late: the silo's options are not needed (and may not be buildable) while loggers are created.
                _silo ??= services.GetRequiredService<IOptions<SiloOptions>>().Value.SiloName;
                openings._openings.Enqueue(new Opening(Interlocked.Increment(ref openings._sequence), _silo, pipeline, part));
            }
        }

        private sealed class Logger(Provider provider) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (state is IReadOnlyList<KeyValuePair<string, object?>> values)
                {
                    provider.Record(values);
                }
            }
        }
    }
}
