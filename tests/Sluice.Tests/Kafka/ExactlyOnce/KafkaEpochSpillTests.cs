using Confluent.Kafka;
using Sluice.Functions;
using Sluice.Kafka;
using Sluice.Storage;

namespace Sluice.Tests.Kafka.ExactlyOnce;

/// <summary>
/// Epochs whose compressed write-ahead exceeds <see cref="KafkaSinkOptions.SpillThreshold"/> go to the checkpoint store;
/// the checkpoint keeps a reference, a restarted task produces the epoch from the blob, and the blob goes once committed.
/// </summary>
public sealed class KafkaEpochSpillTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sluice-kafka-spill-").FullName;

    [Fact]
    public async Task A_large_epoch_is_spilled_to_the_store_and_a_restarted_task_produces_it_from_there()
    {
        using var kafka = EpochLog.Start();
        var store = new FileSystemCheckpointStore(new FileSystemCheckpointStoreOptions { Root = _root });
        var sink = EpochLog.Sink(kafka);
        sink.Options.SpillThreshold = 256;
        var first = (ITransactionalSink<string>)sink.CreateWriter("p-spill", 0, store);
        var expected = new Dictionary<long, List<string>> { [1] = EpochLog.WriteEpoch(first, 1, 2) };
        var small = (await first.PrepareAsync(1, CancellationToken.None))!;
        expected[2] = EpochLog.WriteEpoch(first, 2, 400);
        var large = (await first.PrepareAsync(2, CancellationToken.None))!;

        Assert.Equal(1, small[0]); // in the checkpoint itself
        Assert.Equal(2, large[0]); // a reference
        var spilled = await store.ListAsync("p-spill/kafka-spill/");
        Assert.Single(spilled);
        Assert.True(large.Length < 256, $"the reference is {large.Length} bytes");
        Assert.True((await store.GetAsync(spilled[0]))!.Length > 256);

        // Checkpoint 1 committed; the task dies before committing 2, which the restored checkpoint holds by reference.
        await first.CommitAsync(1, small, CancellationToken.None);
        ((IDisposable)first).Dispose();
        var restarted = (ITransactionalSink<string>)sink.CreateWriter("p-spill", 0, store);
        await restarted.CommitAsync(1, small, CancellationToken.None);
        await restarted.CommitAsync(2, large, CancellationToken.None);
        Assert.Empty(await store.ListAsync("p-spill/kafka-spill/")); // committed: no checkpoint needs the blob

        // A later completed checkpoint naming epoch 2 again finds its marker and never looks for the deleted blob.
        await restarted.CommitAsync(2, large, CancellationToken.None);
        ((IDisposable)restarted).Dispose();
        var copies = EpochLog.AssertEveryCopyEqualsItsEpoch(kafka, expected, task: 0);
        Assert.All(copies, c => Assert.Equal(1, c.Value));
    }

    [Fact]
    public async Task After_a_restore_spills_the_restored_state_does_not_hold_are_discarded_and_the_rest_kept()
    {
        using var kafka = EpochLog.Start();
        var store = new FileSystemCheckpointStore(new FileSystemCheckpointStoreOptions { Root = _root });
        var sink = EpochLog.Sink(kafka);
        sink.Options.SpillThreshold = 256;
        var first = (ITransactionalSink<string>)sink.CreateWriter("p-orphans", 0, store);
        var handles = new List<byte[]>();
        for (var epoch = 1; epoch <= 3; epoch++)
        {
            EpochLog.WriteEpoch(first, epoch, 400);
            handles.Add((await first.PrepareAsync(epoch, CancellationToken.None))!);
        }

        ((IDisposable)first).Dispose(); // checkpoint 1 completed; 2 and 3 never did
        Assert.Equal(3, (await store.ListAsync("p-orphans/kafka-spill/")).Count);
        var otherTask = (ITransactionalSink<string>)sink.CreateWriter("p-orphans", 1, store);
        EpochLog.WriteEpoch(otherTask, 2, 400);
        var otherTasks = (await otherTask.PrepareAsync(2, CancellationToken.None))!;
        ((IDisposable)otherTask).Dispose();

        // The restarted task restores checkpoint 1 (it holds epoch 1) and has already spilled a new epoch 2 of its own.
        var restarted = (ITransactionalSink<string>)sink.CreateWriter("p-orphans", 0, store);
        var expected = new Dictionary<long, List<string>> { [2] = EpochLog.WriteEpoch(restarted, 2, 400) };
        var mine = (await restarted.PrepareAsync(2, CancellationToken.None))!;
        await ((Sluice.Sinks.IRestoredSink)restarted).DiscardUnreferencedAsync([handles[0]]);

        var left = (await store.ListAsync("p-orphans/kafka-spill/")).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(
            new[] { KafkaEpochSpill.PathOf(handles[0]), KafkaEpochSpill.PathOf(mine), KafkaEpochSpill.PathOf(otherTasks) }.Order(StringComparer.Ordinal),
            left);

        // Both kept epochs still commit from their blobs.
        await restarted.CommitAsync(2, mine, CancellationToken.None);
        ((IDisposable)restarted).Dispose();
        EpochLog.AssertEveryCopyEqualsItsEpoch(kafka, expected, task: 0);
    }

    [Fact]
    public void A_spill_threshold_without_a_checkpoint_store_is_refused_naming_the_setting()
    {
        var options = EpochLog.Options("127.0.0.1:1");
        options.SpillThreshold = 1024;
        var error = Assert.Throws<KafkaConfigurationException>(() => new KafkaSink<string>("out", options, Serializers.Utf8).CreateWriter("p", 0));
        Assert.Contains(nameof(KafkaSinkOptions.SpillThreshold), error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
