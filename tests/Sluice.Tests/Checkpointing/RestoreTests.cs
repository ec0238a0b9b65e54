using Sluice.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Sluice.Tests.Checkpointing;

public sealed class RestoreTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-restore-").FullName;

    [Fact]
    public async Task A_new_cluster_resumes_from_the_last_checkpoint_and_every_window_equals_the_oracle()
    {
        var run = await WindowSumsRestoreScenario.RunAsync(() => SluiceCluster.StartWithCheckpointsAsync(1, _root), "resumable", seed: 21, output);

        WindowSumsRestoreScenario.AssertEveryWindowEqualsTheOracle(run, output);
        Assert.NotEmpty(run.Second);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
