namespace Sluice.Sinks.Files;

/// <summary>Part files in the pipeline builder: <c>ToFiles</c>.</summary>
public static class FilePipelineExtensions
{
    /// <summary>
    /// Writes the stream exactly once as part files of <paramref name="format"/> under <see cref="FileSinkOptions.Prefix"/>;
    /// needs checkpoints (<c>PipelineOptions.CheckpointInterval</c>): a part becomes visible when its checkpoint completes.
    /// </summary>
    public static Pipeline ToFiles<T>(this DataStream<T> stream, string name, FileFormat<T> format, FileSinkOptions options, int parallelism = 1)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return stream.SinkTo(new FileSink<T>(name, options, format, parallelism));
    }

    /// <summary>As above, with the options set by <paramref name="configure"/>.</summary>
    public static Pipeline ToFiles<T>(this DataStream<T> stream, string name, FileFormat<T> format, Action<FileSinkOptions> configure, int parallelism = 1)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new FileSinkOptions();
        configure(options);
        return stream.ToFiles(name, format, options, parallelism);
    }
}
