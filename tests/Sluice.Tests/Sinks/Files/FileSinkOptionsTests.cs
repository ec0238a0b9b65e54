using Sluice.Pipelines;
using Sluice.Sinks.Files;
using Sluice.Sources;
using Sluice.Storage;

namespace Sluice.Tests.Sinks.Files;

/// <summary>Configuring a file sink: invalid settings fail when the sink is defined, with the setting's name.</summary>
public sealed class FileSinkOptionsTests
{
    private static readonly JsonLinesFormat<LogLine> Format = FileFormats.JsonLines(FileSinkJson.Default.LogLine);

    [Theory]
    [InlineData("", "FileSink:Prefix is empty")]
    [InlineData("/", "FileSink:Prefix is empty")]
    [InlineData("out/../escape", "FileSink:Prefix 'out/../escape' is not a usable path")]
    [InlineData("out//double", "FileSink:Prefix 'out//double' is not a usable path")]
    [InlineData("out/_staging", "FileSink:Prefix 'out/_staging' contains a '_staging' folder")]
    public void A_bad_prefix_fails_when_the_sink_is_defined(string prefix, string message)
    {
        var failure = Assert.Throws<ArgumentException>(() => new FileSink<LogLine>("lines", new FileSinkOptions { Prefix = prefix }, Format));

        Assert.Contains("File sink 'lines'", failure.Message, StringComparison.Ordinal);
        Assert.Contains(message, failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("S3", "FileSink:Storage:S3:Bucket is empty")]
    [InlineData("AzureBlob", "FileSink:Storage:AzureBlob:ConnectionString and FileSink:Storage:AzureBlob:AccountUri are both empty")]
    [InlineData("Ftp", "FileSink:Storage:Kind 'Ftp' is not a checkpoint store kind")]
    public void Bad_storage_settings_fail_when_the_sink_is_defined(string kind, string message)
    {
        var options = new FileSinkOptions { Prefix = "out", Storage = new CheckpointStorageOptions { Kind = kind } };

        var failure = Assert.Throws<ArgumentException>(() => new FileSink<LogLine>("lines", options, Format));

        Assert.Contains(message, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_are_the_file_system_under_data_files_and_slashes_around_the_prefix_are_ignored()
    {
        var sink = new FileSink<LogLine>("lines", new FileSinkOptions { Prefix = "/jobs/clicks/" }, Format);

        Assert.Equal(CheckpointStoreKinds.FileSystem, sink.Options.Storage.Kind);
        Assert.Equal(FileSinkOptions.DefaultRoot, sink.Options.Storage.FileSystem.Root);
        Assert.Equal("jobs/clicks/part-0003-0000000012.jsonl", sink.Paths.Final(3, 12));
        Assert.True(sink.Paths.IsCommittedPart("jobs/clicks/part-0003-0000000012.jsonl"));
        Assert.False(sink.Paths.IsCommittedPart(sink.Paths.Staged(3, 12, Guid.NewGuid())));
        Assert.False(sink.Paths.IsCommittedPart("jobs/clicks/part-0003-0000000012.parquet"));
    }

    [Fact]
    public void ToFiles_adds_a_file_sink_with_the_configured_options()
    {
        var pipeline = Pipeline.Create("files");

        var returned = pipeline.From(new InMemorySource<LogLine>("in", 1)).ToFiles("lines", Format, o => o.Prefix = "out", parallelism: 3);

        Assert.Same(pipeline, returned);
        var node = Assert.IsType<SinkNode<LogLine>>(Assert.Single(pipeline.Sinks));
        var sink = Assert.IsType<FileSink<LogLine>>(node.Sink);
        Assert.Equal(("lines", 3, "out"), (sink.Name, sink.Parallelism, sink.Options.Prefix));
        Assert.Same(Format, sink.Format);
    }
}
