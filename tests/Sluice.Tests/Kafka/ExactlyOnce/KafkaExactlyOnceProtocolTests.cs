using System.Text;
using Confluent.Kafka;
using Sluice.Functions;
using Sluice.Kafka;
using Sluice.Kafka.Embedded;
using Sluice.Sinks;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Sluice.Tests.Kafka.ExactlyOnce;

/// <summary>
/// The exactly-once Kafka sink's transactional protocol on the embedded broker, driven as the sink task drives it
/// (seal at a barrier, commit when the checkpoint completes, a new writer after a restart). The mock neither filters
/// aborted transactions nor fences, so records carry (task, epoch) headers and the checks are per epoch.
/// </summary>
public sealed class KafkaExactlyOnceProtocolTests
{
    private const string Output = "out";
    private const string Markers = "_sluice-kafka-commits";

    [Fact]
    public async Task Every_epoch_lands_once_with_its_marker_when_InitProducerId_and_EndTxn_fail_and_the_coordinator_moves()
    {
        using var kafka = Start();
        var expected = new Dictionary<long, List<string>>();
        var writer = Writer(kafka, "p1", 0);
        var random = new Random(5);
        for (long epoch = 1; epoch <= 6; epoch++)
        {
            var records = WriteEpoch(writer, epoch, random.Next(1, 60));
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
                case 3: // the transaction coordinator moves to another broker
                    kafka.SetPartitionLeader("__transaction_state", 0, 2);
                    kafka.PushRequestErrors(KafkaApiKeys.FindCoordinator, ErrorCode.GroupCoordinatorNotAvailable);
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
        AssertEachEpochOnce(kafka, expected, task: 0);
    }

    [Fact]
    public async Task A_restarted_task_reproduces_exactly_the_epochs_without_a_marker()
    {
        using var kafka = Start();
        var expected = new Dictionary<long, List<string>>();
        var handles = new Dictionary<long, byte[]>();
        var first = Writer(kafka, "p2", 1);
        for (long epoch = 1; epoch <= 4; epoch++)
        {
            expected[epoch] = WriteEpoch(first, epoch, 10 + (int)epoch);
            handles[epoch] = (await first.PrepareAsync(epoch, CancellationToken.None))!;
        }

        // Checkpoints 1 and 2 completed and were committed; 3 completed but the task died before its transaction;
        // 4's checkpoint never completed (its records are replayed by the sources, not by the sink).
        await first.CommitAsync(1, handles[1], CancellationToken.None);
        await first.CommitAsync(2, handles[2], CancellationToken.None);
        ((IDisposable)first).Dispose();

        // Restored from checkpoint 3, whose snapshot still held 2 (committed, not yet recorded) and 3.
        var restarted = Writer(kafka, "p2", 1);
        await restarted.CommitAsync(2, handles[2], CancellationToken.None);
        await restarted.CommitAsync(3, handles[3], CancellationToken.None);
        expected.Remove(4);
        expected[5] = WriteEpoch(restarted, 5, 7);
        await restarted.CommitAsync(5, (await restarted.PrepareAsync(5, CancellationToken.None))!, CancellationToken.None);

        // A commit repeated on the same writer (a second completed checkpoint naming the epoch) is a no-op too.
        await restarted.CommitAsync(3, handles[3], CancellationToken.None);
        ((IDisposable)restarted).Dispose();
        AssertEachEpochOnce(kafka, expected, task: 1);
    }

    [Fact]
    public async Task An_open_epoch_moves_with_its_task_record_for_record()
    {
        using var kafka = Start();
        var source = Writer(kafka, "p3", 0);
        var records = WriteEpoch(source, 1, 25);
        var exported = ((IMovableSink)source).ExportOpenEpoch();
        ((IDisposable)source).Dispose();

        var target = Writer(kafka, "p3", 0);
        ((IMovableSink)target).ImportOpenEpoch(exported);
        await target.CommitAsync(1, (await target.PrepareAsync(1, CancellationToken.None))!, CancellationToken.None);
        ((IDisposable)target).Dispose();
        AssertEachEpochOnce(kafka, new Dictionary<long, List<string>> { [1] = records }, task: 0);
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
        var sink = new KafkaSink<string>("out", new KafkaSinkOptions { BootstrapServers = "127.0.0.1:1", Topic = Output, Guarantee = DeliveryGuarantee.ExactlyOnce }, Serializers.Utf8);
        var error = Assert.Throws<KafkaConfigurationException>(() => sink.CreateWriter("p", 0));
        Assert.Contains(nameof(KafkaSinkOptions.TransactionalIdPrefix), error.Message, StringComparison.Ordinal);
    }

    private static EmbeddedKafka Start()
    {
        var kafka = EmbeddedKafka.Start(brokers: 3);
        kafka.CreateTopic(Output, 2);
        kafka.CreateTopic(Markers, 1);
        return kafka;
    }

    private static ITransactionalSink<string> Writer(EmbeddedKafka kafka, string pipeline, int task)
    {
        var options = new KafkaSinkOptions
        {
            BootstrapServers = kafka.BootstrapServers,
            Topic = Output,
            Guarantee = DeliveryGuarantee.ExactlyOnce,
            TransactionalIdPrefix = "test",
            TransactionTimeout = TimeSpan.FromSeconds(30),
        };
        return (ITransactionalSink<string>)new KafkaSink<string>("out", options, Serializers.Utf8, v => v).CreateWriter(pipeline, task);
    }

    private static List<string> WriteEpoch(ITransactionalSink<string> writer, long epoch, int count)
    {
        var records = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            var value = $"e{epoch}-r{i}";
            writer.Write(value, new SinkContext("p", 0, 1_000 * epoch + i, long.MinValue));
            records.Add(value);
        }

        return records;
    }

    private static void AssertEachEpochOnce(EmbeddedKafka kafka, Dictionary<long, List<string>> expected, int task)
    {
        var output = KafkaTestData.ReadAll(kafka, Output, 2, int.MaxValue, TimeSpan.FromSeconds(5));
        var byEpoch = output
            .Where(r => Header(r, KafkaCommitMarkers.TaskHeader) == task.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .GroupBy(r => long.Parse(Header(r, KafkaCommitMarkers.EpochHeader)!, System.Globalization.CultureInfo.InvariantCulture))
            .ToDictionary(g => g.Key, g => g.Select(r => Encoding.UTF8.GetString(r.Message.Value!)).Order(StringComparer.Ordinal).ToList());
        Assert.Equal(expected.Keys.Order(), byEpoch.Keys.Order());
        foreach (var (epoch, records) in expected)
        {
            Assert.Equal(records.Order(StringComparer.Ordinal), byEpoch[epoch]);
        }

        var markers = KafkaTestData.ReadAll(kafka, Markers, 1, int.MaxValue, TimeSpan.FromSeconds(3))
            .Where(r => Encoding.UTF8.GetString(r.Message.Key!).Split('/')[2] == task.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Select(r => BitConverter.ToInt64(r.Message.Value!))
            .Order()
            .ToList();
        Assert.Equal(expected.Keys.Order(), markers);
    }

    private static string? Header(ConsumeResult<byte[]?, byte[]?> record, string name) =>
        record.Message.Headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : null;
}
