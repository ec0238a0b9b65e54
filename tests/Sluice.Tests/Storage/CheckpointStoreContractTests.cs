using System.Diagnostics;
using Sluice.Storage;
using Xunit.Abstractions;

namespace Sluice.Tests.Storage;

/// <summary>
/// The contract every <see cref="ICheckpointStore"/> keeps, run against each store (the derived classes): the file
/// system, Azure Blob on Azurite and S3 on s3rver. Each test works under its own random top folder, so tests
/// sharing one emulator do not see each other's objects.
/// </summary>
public abstract class CheckpointStoreContractTests : IDisposable
{
    private readonly List<ICheckpointStore> _stores = [];

    protected CheckpointStoreContractTests(ITestOutputHelper output)
    {
        Output = output;
    }

    protected ITestOutputHelper Output { get; }

    /// <summary>A random top folder for this test's objects.</summary>
    protected string Top { get; } = $"t{Guid.NewGuid():N}";

    /// <summary>Rounds of the concurrent-commit test (each: 8 tasks racing for one new path).</summary>
    protected virtual int ConcurrentCommitRounds => 10;

    /// <summary>Why this store cannot be tested here (emulator not installed), or null.</summary>
    protected abstract string? SkipReason { get; }

    private protected ICheckpointStore Store => _stores.Count > 0 ? _stores[0] : NewStore();

    public void Dispose()
    {
        foreach (var store in _stores)
        {
            (store as IDisposable)?.Dispose();
        }

        GC.SuppressFinalize(this);
    }

    [SkippableTheory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(65_539)]
    [InlineData(5 * 1024 * 1024)]
    public async Task Put_then_get_returns_the_same_bytes(int size)
    {
        SkipIfUnavailable();
        var data = RandomBytes(size, seed: size);
        var path = $"{Top}/chk-1/0-{size}";

        await Store.PutAsync(path, data);

        Assert.Equal(data, await Store.GetAsync(path));
        Assert.True(await Store.ExistsAsync(path));

        // A put replaces the object.
        var replacement = RandomBytes(Math.Max(1, size / 2), seed: size + 1);
        await Store.PutAsync(path, replacement);
        Assert.Equal(replacement, await Store.GetAsync(path));
    }

    [SkippableFact]
    public async Task Get_of_a_missing_path_returns_null_and_exists_is_false()
    {
        SkipIfUnavailable();
        Assert.Null(await Store.GetAsync($"{Top}/chk-9/_metadata"));
        Assert.False(await Store.ExistsAsync($"{Top}/chk-9/_metadata"));
        Assert.Empty(await Store.ListAsync($"{Top}/"));
    }

    [SkippableFact]
    public async Task List_returns_the_paths_under_a_string_prefix_in_ordinal_order()
    {
        SkipIfUnavailable();
        string[] paths = [$"{Top}/p/chk-1/1-0", $"{Top}/p/chk-1/0-3", $"{Top}/p/chk-1/_metadata", $"{Top}/p/chk-10/0-0", $"{Top}/p/chk-2/0-0", $"{Top}/q/chk-1/0-0"];
        foreach (var path in paths)
        {
            await Store.PutAsync(path, new byte[] { 1 });
        }

        Assert.Equal([$"{Top}/p/chk-1/0-3", $"{Top}/p/chk-1/1-0", $"{Top}/p/chk-1/_metadata"], await Store.ListAsync($"{Top}/p/chk-1/"));
        // A prefix is a string prefix, as on S3 and Azure Blob: "chk-1" also matches "chk-10".
        Assert.Equal([$"{Top}/p/chk-1/0-3", $"{Top}/p/chk-1/1-0", $"{Top}/p/chk-1/_metadata", $"{Top}/p/chk-10/0-0"], await Store.ListAsync($"{Top}/p/chk-1"));
        Assert.Equal(5, (await Store.ListAsync($"{Top}/p/")).Count);
        Assert.Equal(paths.Order(StringComparer.Ordinal), await Store.ListAsync(Top));
        Assert.Empty(await Store.ListAsync($"{Top}/p/chk-3/"));

        // Commits leave no temporary objects behind, and none is ever listed.
        Assert.True(await Store.CommitAsync($"{Top}/p/chk-3/_metadata", new byte[] { 2 }));
        Assert.Equal([$"{Top}/p/chk-3/_metadata"], await Store.ListAsync($"{Top}/p/chk-3/"));
        Assert.DoesNotContain(await Store.ListAsync(string.Empty), p => p.Contains(CheckpointPaths.ReservedPrefix, StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Delete_removes_the_object_and_deleting_a_missing_path_is_not_an_error()
    {
        SkipIfUnavailable();
        var keep = $"{Top}/chk-1/0-0";
        var drop = $"{Top}/chk-1/0-1";
        await Store.PutAsync(keep, new byte[] { 1 });
        await Store.PutAsync(drop, new byte[] { 2 });

        await Store.DeleteAsync(drop);

        Assert.Null(await Store.GetAsync(drop));
        Assert.False(await Store.ExistsAsync(drop));
        Assert.Equal([keep], await Store.ListAsync($"{Top}/"));
        await Store.DeleteAsync(drop);
        await Store.DeleteAsync($"{Top}/never/written");

        // Deleting the last object of a folder and writing into it again works.
        await Store.DeleteAsync(keep);
        Assert.Empty(await Store.ListAsync($"{Top}/"));
        await Store.PutAsync(keep, new byte[] { 3 });
        Assert.Equal(new byte[] { 3 }, await Store.GetAsync(keep));
    }

    [SkippableFact]
    public async Task Commit_creates_once_and_a_second_commit_keeps_the_first_content()
    {
        SkipIfUnavailable();
        var path = $"{Top}/chk-3/_metadata";
        var first = RandomBytes(300, seed: 1);

        Assert.True(await Store.CommitAsync(path, first));
        Assert.False(await Store.CommitAsync(path, RandomBytes(200, seed: 2)));
        Assert.False(await NewStore().CommitAsync(path, RandomBytes(100, seed: 3)));

        Assert.Equal(first, await Store.GetAsync(path));
        Assert.Equal([path], await Store.ListAsync($"{Top}/chk-3/"));

        // Over an object written by a plain put, a commit reports that it exists.
        await Store.PutAsync($"{Top}/chk-4/_metadata", new byte[] { 9 });
        Assert.False(await Store.CommitAsync($"{Top}/chk-4/_metadata", new byte[] { 1 }));
        Assert.Equal(new byte[] { 9 }, await Store.GetAsync($"{Top}/chk-4/_metadata"));
    }

    [SkippableFact]
    public async Task Of_eight_concurrent_commits_of_one_path_exactly_one_wins()
    {
        SkipIfUnavailable();
        for (var round = 0; round < ConcurrentCommitRounds; round++)
        {
            var path = $"{Top}/chk-{round}/_metadata";
            // Each task has its own store instance (its own client and connections).
            var stores = Enumerable.Range(0, 8).Select(_ => NewStore()).ToList();
            using var start = new ManualResetEventSlim();
            var tasks = stores.Select((store, i) => Task.Run(async () =>
            {
                start.Wait();
                return await store.CommitAsync(path, RandomBytes(64 * 1024, seed: (round * 8) + i));
            })).ToList();
            start.Set();
            var results = await Task.WhenAll(tasks);

            var winners = Enumerable.Range(0, 8).Where(i => results[i]).ToList();
            Assert.True(winners.Count == 1, $"round {round}: {winners.Count} commits returned true: [{string.Join(", ", results)}]");
            Assert.Equal(RandomBytes(64 * 1024, seed: (round * 8) + winners[0]), await Store.GetAsync(path));
            Assert.Equal([path], await Store.ListAsync($"{Top}/chk-{round}/"));
        }
    }

    [SkippableFact]
    public async Task Invalid_paths_are_rejected_before_any_request()
    {
        SkipIfUnavailable();
        foreach (var bad in new[] { string.Empty, "/a", "a/", "a//b", "a/../b", "./a", "a\\b", "a/.sluice-tmp/x", "a/\n" })
        {
            await Assert.ThrowsAsync<ArgumentException>(() => Store.PutAsync(bad, new byte[] { 1 }));
            await Assert.ThrowsAsync<ArgumentException>(() => Store.CommitAsync(bad, new byte[] { 1 }));
            await Assert.ThrowsAsync<ArgumentException>(() => Store.GetAsync(bad));
        }

        await Assert.ThrowsAsync<ArgumentException>(() => Store.ListAsync("/"));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.ListAsync("a//"));
    }

    /// <summary>Creates a store instance (with its own client) for this test's backing service; disposed after the test.</summary>
    private protected ICheckpointStore NewStore()
    {
        var store = CreateStore();
        _stores.Add(store);
        return store;
    }

    private protected abstract ICheckpointStore CreateStore();

    protected void SkipIfUnavailable() => Skip.If(SkipReason is not null, SkipReason);

    protected static byte[] RandomBytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}

/// <summary>
/// The contract plus what a networked store adds: while its service is down every operation fails with a
/// <see cref="CheckpointStoreException"/> naming the store and the path, and after the service is back on the same
/// port and data folder the store works again without being re-created.
/// </summary>
public abstract class RemoteCheckpointStoreContractTests(ITestOutputHelper output) : CheckpointStoreContractTests(output), IAsyncLifetime
{
    private readonly ITestOutputHelper _output = output;

    /// <summary>True while the emulator process is alive.</summary>
    protected abstract bool ServiceIsRunning { get; }

    /// <summary>What the emulator printed, for a test that finds it dead.</summary>
    protected abstract string ServiceLog { get; }

    /// <summary>
    /// An emulator that died under load (seen once with s3rver on a busy CI machine) would fail every later test of
    /// the class with "connection refused": start it again and say so, so each test checks the store, not the
    /// emulator's health.
    /// </summary>
    public async Task InitializeAsync()
    {
        if (SkipReason is null && !ServiceIsRunning)
        {
            _output.WriteLine($"the emulator had exited; restarting it. Its output:\n{ServiceLog}");
            await RepairAsync();
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [SkippableFact]
    public async Task An_unreachable_store_throws_CheckpointStoreException_and_works_again_after_a_restart()
    {
        SkipIfUnavailable();
        var committed = $"{Top}/chk-1/_metadata";
        Assert.True(await Store.CommitAsync(committed, new byte[] { 7, 7 }));
        await Store.PutAsync($"{Top}/chk-1/0-0", new byte[] { 1 });

        await BreakAsync();
        try
        {
            await AssertUnreachableAsync();
        }
        finally
        {
            await RepairAsync();
        }

        // Same port and data folder: what was written before the outage is there, and every operation works.
        var path = $"{Top}/chk-2/0-0";
        Assert.Equal(new byte[] { 7, 7 }, await Store.GetAsync(committed));
        Assert.False(await Store.CommitAsync(committed, new byte[] { 8 }));
        await Store.PutAsync(path, new byte[] { 2 });
        Assert.Equal(new byte[] { 2 }, await Store.GetAsync(path));
        Assert.True(await Store.CommitAsync($"{Top}/chk-2/_metadata", new byte[] { 3 }));
        Assert.Equal([$"{Top}/chk-2/0-0", $"{Top}/chk-2/_metadata"], await Store.ListAsync($"{Top}/chk-2/"));
        await Store.DeleteAsync(path);
        Assert.False(await Store.ExistsAsync(path));
        Assert.True(await NewStore().ExistsAsync(committed));
    }

    private async Task AssertUnreachableAsync()
    {
        var clock = Stopwatch.StartNew();
        var path = $"{Top}/chk-2/0-0";
        var failures = new List<CheckpointStoreException>
        {
            await Assert.ThrowsAsync<CheckpointStoreException>(() => Store.PutAsync(path, new byte[] { 1 })),
            await Assert.ThrowsAsync<CheckpointStoreException>(() => Store.GetAsync(path)),
            await Assert.ThrowsAsync<CheckpointStoreException>(() => Store.CommitAsync($"{Top}/chk-2/_metadata", new byte[] { 1 })),
            await Assert.ThrowsAsync<CheckpointStoreException>(() => Store.ListAsync($"{Top}/chk-2/")),
            await Assert.ThrowsAsync<CheckpointStoreException>(() => Store.DeleteAsync(path)),
            await Assert.ThrowsAsync<CheckpointStoreException>(() => Store.ExistsAsync(path)),
        };
        // A store created while the service is down fails the same way (e.g. on creating its container).
        var fresh = NewStore();
        var freshFailure = await Assert.ThrowsAsync<CheckpointStoreException>(() => fresh.GetAsync(path));
        Output.WriteLine($"7 failing operations took {clock.ElapsedMilliseconds} ms; first: {failures[0].Message}");
        foreach (var failure in failures)
        {
            Assert.Equal(Store.Name, failure.Store);
            Assert.Contains(Store.Name, failure.Message, StringComparison.Ordinal);
            Assert.Contains($"'{Top}/chk-2/", failure.Message, StringComparison.Ordinal);
            Assert.NotNull(failure.InnerException);
        }

        Assert.Equal(fresh.Name, freshFailure.Store);
        Assert.Equal(path, freshFailure.StorePath);
    }

    /// <summary>Makes the store unreachable (stops the emulator).</summary>
    protected abstract Task BreakAsync();

    /// <summary>Brings the store back (restarts the emulator on the same port and data folder).</summary>
    protected abstract Task RepairAsync();
}
