using Sluice.Functions;

namespace Sluice.Sinks;

/// <summary>Writes each record as a line to standard output (or another writer), for demos and debugging.</summary>
public sealed class ConsoleSink<T>(string name, Func<T, string>? format = null, TextWriter? writer = null)
    : SinkDefinition<T>(name, 1)
{
    public override ISinkFunction<T> CreateWriter(int taskIndex) => new Writer(format ?? (v => v?.ToString() ?? "null"), writer ?? Console.Out);

    private sealed class Writer(Func<T, string> format, TextWriter writer) : ISinkFunction<T>
    {
        public void Write(T value, SinkContext context) => writer.WriteLine(format(value));
    }
}
