using Confluent.Kafka;
using Sluice.Functions;
using Sluice.Kafka;
using Sluice.Kafka.Embedded;
using Sluice.Sinks;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Sluice.Tests.Kafka.ExactlyOnce;

/// <summary>
/// The exactly-once Kafka sink's transactional protocol on the embedded broker under injected faults, driven as the sink
/// task drives it (seal at a barrier, commit when the checkpoint completes, a new writer after a restart). The mock neither
/// filters aborted transactions nor fences, so records carry (task, epoch) headers and every check is per epoch: each copy
/// of an epoch equals the records written for it, and copies beyond the first exist only where a transaction was aborted.
/// </summary>
public sealed class KafkaExactlyOnceProtocolTests
{
    [Fact]
    public async Task Every_epoch_lands_once_with_its_marker_when_InitProducerId_and_EndTxn_fail_and_the_coordinator_moves()
    {
        using var kafka = EpochLog.Start();
        var expected = new Dictionary<long, List<string>>();
        var writer = EpochLog.Writer(kafka, "p1", 0);
        var random = new Random(5);
        for (long epoch = 1; epoch <= 6; epoch++)
        {
            var records = EpochLog.WriteEpoch(writer, epoch, random.Next(1, 60));
            expected[epoch] = records;
            var handle = await writer.PrepareAsync(epoch, CancellationToken.None);
            switch (epoch)
            {
                case 1: // the producer's first InitProducerId fails with coordinator errors librdkafka retries
                    kafka.PushRequestErrors(KafkaApiKeys.InitProducerId, ErrorCode.GroupLoadInProgress, ErrorCode.NotCoordinatorForGroup);
                    break;
                case 2: // the commit's EndTxn fails with retriable errors before it lands
                    kafka.PushRequestErrors(KafkaApiKeys.EndTxn, ErrorCode.GroupLoadInProgress, ErrorCode.NotCoordinatorForGroup);
                    break;
                case 3: // the transaction coordinator moves to another broker, and the old one says so
                    kafka.SetCoordinator("transaction", EpochLog.TransactionalId("p1", 0), 2);
                    kafka.PushRequestErrors(KafkaApiKeys.EndTxn, ErrorCode.NotCoordinatorForGroup);
                    break;
                case 4: // a broker is down while the epoch is produced and committed, and comes back
                    kafka.SetBrokerDown(1);
                    break;
            }

            var commit = writer.CommitAsync(epoch, handle!, CancellationToken.None);
            if (epoch == 4)
            {
                await Task.Delay(500);
                kafka.SetBrokerUp(1);
            }

            await commit.WaitAsync(TimeSpan.FromSeconds(120));
        }

        ((IDisposable)writer).Dispose();
        var copies = EpochLog.AssertEveryCopyEqualsItsEpoch(kafka, expected, task: 0);
        Assert.All(copies, c => Assert.Equal(1, c.Value)); // retriable faults: nothing was aborted, nothing produced twice
    }

    [Theory]
    [InlineData(nameof(KafkaTransactionStep.RecordsProduced))]
    [InlineData(nameof(KafkaTransactionStep.Committing))]
    public async Task Every_broker_down_in_the_middle_of_a_transaction_delays_the_epoch_without_losing_it(string at)
    {
        var step = Enum.Parse<KafkaTransactionStep>(at);
        using var kafka = EpochLog.Start();
        var sink = EpochLog.Sink(kafka);
        var downs = 0;
        sink.TransactionHook = (reached, id, epoch) =>
        {
            if (reached == step && epoch == 2 && Interlocked.Increment(ref downs) == 1)
            {
                kafka.SetBrokerDown(EmbeddedKafka.AllBrokers);
                _ = Task.Delay(1_500).ContinueWith(_ => kafka.SetBrokerUp(EmbeddedKafka.AllBrokers), TaskScheduler.Default); // test-side wake-up
            }
        };

        var expected = await EpochLog.CommitEpochsAsync(sink, "p-down", 0, 1, 3);
        Assert.Equal(1, downs);
        EpochLog.AssertEveryCopyEqualsItsEpoch(kafka, expected, task: 0);
    }

    [Fact]
    public async Task A_coordinator_move_between_the_records_and_the_marker_keeps_the_epoch_whole()
    {
        using var kafka = EpochLog.Start();
        var sink = EpochLog.Sink(kafka);
        var moved = 0;
        sink.TransactionHook = (at, id, epoch) =>
        {
            if (at == KafkaTransactionStep.RecordsProduced && Interlocked.Increment(ref moved) <= 3)
            {
                kafka.SetCoordinator("transaction", id, (int)(epoch % 3) + 1);
                kafka.PushRequestErrors(KafkaApiKeys.AddPartitionsToTxn, ErrorCode.NotCoordinatorForGroup);
            }
        };

        var expected = await EpochLog.CommitEpochsAsync(sink, "p-move", 0, 1, 4);
        EpochLog.AssertEveryCopyEqualsItsEpoch(kafka, expected, task: 0);
    }

    [Fact]
    public async Task An_abortable_error_aborts_the_transaction_and_the_retry_lands_the_epoch_whole()
    {
        using var kafka = EpochLog.Start();
        var sink = EpochLog.Sink(kafka);
        var beginnings = new List<long>();
        sink.TransactionHook = (at, _, epoch) =>
        {
            if (at == KafkaTransactionStep.Beginning)
            {
                lock (beginnings)
                {
                    beginnings.Add(epoch);
                }

                if (epoch == 2 && beginnings.Count(e => e == 2) == 1)
                {
                    // The partitions cannot join the transaction: librdkafka requires it to be aborted.
                    kafka.PushRequestErrors(KafkaApiKeys.AddPartitionsToTxn, ErrorCode.TopicAuthorizationFailed);
                }
            }
        };

        var expected = await EpochLog.CommitEpochsAsync(sink, "p-abort", 0, 1, 3);
        Assert.Equal([1L, 2, 2, 3], beginnings); // epoch 2 was aborted once and produced again
        var copies = EpochLog.AssertEveryCopyEqualsItsEpoch(kafka, expected, task: 0);
        Assert.Equal(1, copies[1]);
        Assert.Equal(1, copies[3]);
    }

    [Fact]
    public async Task A_fenced_commit_fails_the_task_and_the_restarted_task_lands_the_epoch_without_a_second_marker()
    {
        using var kafka = EpochLog.Start();
        var first = EpochLog.Writer(kafka, "p-fenced", 0);
        var expected = new Dictionary<long, List<string>> { [1] = EpochLog.WriteEpoch(first, 1, 20) };
        var handle = (await first.PrepareAsync(1, CancellationToken.None))!;
        kafka.PushRequestErrors(KafkaApiKeys.EndTxn, ErrorCode.ProducerFenced);
        var error = await Assert.ThrowsAnyAsync<KafkaException>(() => first.CommitAsync(1, handle, CancellationToken.None));
        Assert.True(error.Error.IsFatal, $"a fenced producer is fatal: {error.Error}");
        ((IDisposable)first).Dispose();

        // The task failed; the pipeline restores the checkpoint that holds epoch 1 and commits it again.
        var restarted = EpochLog.Writer(kafka, "p-fenced", 0);
        await restarted.CommitAsync(1, handle, CancellationToken.None);
        ((IDisposable)restarted).Dispose();
        EpochLog.AssertEveryCopyEqualsItsEpoch(kafka, expected, task: 0);
    }

    [Fact]
    public async Task A_refused_InitProducerId_fails_the_commit_and_the_next_completed_checkpoint_commits_the_epoch()
    {
        using var kafka = EpochLog.Start();
        var writer = EpochLog.Writer(kafka, "p-init", 0);
        var expected = new Dictionary<long, List<string>> { [1] = EpochLog.WriteEpoch(writer, 1, 15) };
        var handle = (await writer.PrepareAsync(1, CancellationToken.None))!;
        kafka.PushRequestErrors(KafkaApiKeys.InitProducerId, ErrorCode.TransactionalIdAuthorizationFailed);
        await Assert.ThrowsAnyAsync<KafkaException>(() => writer.CommitAsync(1, handle, CancellationToken.None));

        // The epoch stays pending in the sink task; the next completed checkpoint commits it with the next epoch.
        expected[2] = EpochLog.WriteEpoch(writer, 2, 5);
        var second = (await writer.PrepareAsync(2, CancellationToken.None))!;
        await writer.CommitAsync(1, handle, CancellationToken.None);
        await writer.CommitAsync(2, second, CancellationToken.None);
        ((IDisposable)writer).Dispose();
        var copies = EpochLog.AssertEveryCopyEqualsItsEpoch(kafka, expected, task: 0);
        Assert.All(copies, c => Assert.Equal(1, c.Value));
    }

    [Fact]
    public async Task A_restarted_task_reproduces_exactly_the_epochs_without_a_marker()
    {
        using var kafka = EpochLog.Start();
        using var metrics = new KafkaSinkMetrics("p2");
        var expected = new Dictionary<long, List<string>>();
        var handles = new Dictionary<long, byte[]>();
        var first = EpochLog.Writer(kafka, "p2", 1);
        for (long epoch = 1; epoch <= 4; epoch++)
        {
            expected[epoch] = EpochLog.WriteEpoch(first, epoch, 10 + (int)epoch);
            handles[epoch] = (await first.PrepareAsync(epoch, CancellationToken.None))!;
        }

        // Checkpoints 1 and 2 completed and were committed; 3 completed but the task died before its transaction;
        // 4's checkpoint never completed (its records are replayed by the sources, not by the sink).
        await first.CommitAsync(1, handles[1], CancellationToken.None);
        await first.CommitAsync(2, handles[2], CancellationToken.None);
        ((IDisposable)first).Dispose();

        // Restored from checkpoint 3, whose snapshot still held 2 (committed, not yet recorded) and 3.
        var restarted = EpochLog.Writer(kafka, "p2", 1);
        await restarted.CommitAsync(2, handles[2], CancellationToken.None);
        await restarted.CommitAsync(3, handles[3], CancellationToken.None);
        expected.Remove(4);
        expected[5] = EpochLog.WriteEpoch(restarted, 5, 7);
        await restarted.CommitAsync(5, (await restarted.PrepareAsync(5, CancellationToken.None))!, CancellationToken.None);

        // A commit repeated on the same writer (a second completed checkpoint naming the epoch) is a no-op too.
        await restarted.CommitAsync(3, handles[3], CancellationToken.None);
        ((IDisposable)restarted).Dispose();
        var copies = EpochLog.AssertEveryCopyEqualsItsEpoch(kafka, expected, task: 1);
        Assert.All(copies, c => Assert.Equal(1, c.Value)); // epoch 2 had a marker: never produced again

        Assert.Equal(4, metrics.Sum("sluice.kafka.sink.transactions_committed")); // 1, 2, 3, 5
        Assert.Equal(1, metrics.Sum("sluice.kafka.sink.epochs_reproduced")); // 3, restored from the checkpoint
        Assert.Equal(2, metrics.Sum("sluice.kafka.sink.epochs_already_committed")); // 2 after the restart, 3 repeated
        Assert.Equal(0, metrics.Sum("sluice.kafka.sink.transactions_aborted"));
        Assert.True(metrics.Sum("sluice.kafka.sink.write_ahead_bytes") > 0);
        Assert.Equal(4, metrics.Count("sluice.kafka.sink.commit_latency"));
    }

    [Fact]
    public async Task A_pipeline_started_afresh_under_the_same_id_is_not_mistaken_for_the_run_whose_markers_remain()
    {
        using var kafka = EpochLog.Start();
        var old = await EpochLog.CommitEpochsAsync(EpochLog.Sink(kafka), "p-again", 0, 1, 2);

        // Its checkpoints deleted, the pipeline starts again: checkpoint (epoch) numbers start at 1 again.
        var again = EpochLog.Writer(kafka, "p-again", 0);
        var fresh = new List<string>();
        for (var i = 0; i < 9; i++)
        {
            fresh.Add($"again-{i}");
            again.Write(fresh[^1], new SinkContext("p-again", 0, i, long.MinValue));
        }

        await again.CommitAsync(1, (await again.PrepareAsync(1, CancellationToken.None))!, CancellationToken.None);
        ((IDisposable)again).Dispose();
        var epoch1 = EpochLog.Read(kafka.BootstrapServers, EpochLog.Output, 2).Where(r => r.Task == "0" && r.Epoch == 1).Select(r => r.Value).ToList();
        Assert.Equal(old[1].Concat(fresh).Order(StringComparer.Ordinal), epoch1.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_open_epoch_moves_with_its_task_record_for_record()
    {
        using var kafka = EpochLog.Start();
        var source = EpochLog.Writer(kafka, "p3", 0);
        var records = EpochLog.WriteEpoch(source, 1, 25);
        var exported = ((IMovableSink)source).ExportOpenEpoch();
        ((IDisposable)source).Dispose();

        var target = EpochLog.Writer(kafka, "p3", 0);
        ((IMovableSink)target).ImportOpenEpoch(exported);
        await target.CommitAsync(1, (await target.PrepareAsync(1, CancellationToken.None))!, CancellationToken.None);
        ((IDisposable)target).Dispose();
        EpochLog.AssertEveryCopyEqualsItsEpoch(kafka, new Dictionary<long, List<string>> { [1] = records }, task: 0);
    }

    [Fact]
    public async Task Transactions_of_sink_tasks_removed_by_a_lower_parallelism_are_aborted_by_the_tasks_that_take_them_over()
    {
        using var kafka = EpochLog.Start();
        var wide = EpochLog.Sink(kafka, parallelism: 5);
        foreach (var task in new[] { 0, 1, 2, 3, 4 })
        {
            await EpochLog.CommitEpochsAsync(wide, "p-narrow", task, 1, 1);
        }

        // Two tasks now: task 0 takes over tasks 2 and 4, task 1 takes over task 3 (index modulo the parallelism).
        var narrow = EpochLog.Sink(kafka, parallelism: 2);
        var aborted = new List<string>();
        narrow.TransactionHook = (at, id, _) =>
        {
            if (at == KafkaTransactionStep.RetiredTaskAborted)
            {
                lock (aborted)
                {
                    aborted.Add(id);
                }
            }
        };
        await EpochLog.CommitEpochsAsync(narrow, "p-narrow", 1, 2, 2);
        Assert.Equal([EpochLog.TransactionalId("p-narrow", 3)], aborted);
        await EpochLog.CommitEpochsAsync(narrow, "p-narrow", 0, 2, 2);
        Assert.Equal([EpochLog.TransactionalId("p-narrow", 3), EpochLog.TransactionalId("p-narrow", 2), EpochLog.TransactionalId("p-narrow", 4)], aborted);
    }

    [Fact]
    public async Task An_epoch_of_a_removed_task_committed_through_a_writer_of_its_id_is_produced_once_under_that_task_with_its_marker()
    {
        using var kafka = EpochLog.Start();
        var wide = EpochLog.Sink(kafka, parallelism: 3);
        var retired = (ITransactionalSink<string>)wide.CreateWriter("p-adopt", 2);
        var records = EpochLog.WriteEpoch(retired, 7, 12);
        var handle = (await retired.PrepareAsync(7, CancellationToken.None))!;
        ((IDisposable)retired).Dispose(); // the task's silo went away with epoch 7 prepared, its checkpoint complete

        // The restored pipeline has one sink task; it commits task 2's epoch through a writer of task 2, then again
        // (a second restore from the same checkpoint): the marker makes the second a no-op.
        var narrow = EpochLog.Sink(kafka, parallelism: 1);
        foreach (var _ in new[] { 1, 2 })
        {
            var adopted = (ITransactionalSink<string>)narrow.CreateWriter("p-adopt", 2);
            await adopted.CommitAsync(7, handle, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(120));
            ((IDisposable)adopted).Dispose();
        }

        var copies = EpochLog.AssertEveryCopyEqualsItsEpoch(kafka, new Dictionary<long, List<string>> { [7] = records }, task: 2);
        Assert.Equal(1, copies[7]);
    }

    [Fact]
    public void A_transaction_timeout_above_the_brokers_maximum_fails_naming_both_settings()
    {
        var error = Assert.Throws<KafkaConfigurationException>(() => KafkaTransactionTimeout.Check("out", TimeSpan.FromHours(1), 900_000, "1"));
        Assert.Contains(nameof(KafkaSinkOptions.TransactionTimeout), error.Message, StringComparison.Ordinal);
        Assert.Contains("transaction.max.timeout.ms", error.Message, StringComparison.Ordinal);
        KafkaTransactionTimeout.Check("out", TimeSpan.FromMinutes(15), 900_000, "1");
    }

    [Fact]
    public void Exactly_once_without_a_transactional_id_prefix_is_refused_naming_the_setting()
    {
        var sink = new KafkaSink<string>("out", new KafkaSinkOptions { BootstrapServers = "127.0.0.1:1", Topic = EpochLog.Output, Guarantee = DeliveryGuarantee.ExactlyOnce }, Serializers.Utf8);
        var error = Assert.Throws<KafkaConfigurationException>(() => sink.CreateWriter("p", 0));
        Assert.Contains(nameof(KafkaSinkOptions.TransactionalIdPrefix), error.Message, StringComparison.Ordinal);
    }
}
