using System.Runtime.InteropServices;
using ErrorCode = Confluent.Kafka.ErrorCode;

namespace Sluice.Kafka.Embedded;

/// <summary>
/// An in-process Kafka for the default run and the tests: librdkafka's mock cluster (Confluent's Kafka protocol
/// implementation inside librdkafka), listening on loopback TCP so that ordinary Confluent clients connect to
/// <see cref="BootstrapServers"/>. Fault injection: brokers down/up, leader moves, errors on the next requests.
/// </summary>
/// <remarks>
/// Limits of the mock (see DESIGN.md, "Dev services and tests"): no read_committed filtering, no producer fencing,
/// no CreateTopics (use <see cref="CreateTopic"/>), no offsets-by-timestamp, ~5 MiB / 100,000 batches per partition.
/// Call <see cref="Dispose"/> to stop it; there is no finalizer.
/// </remarks>
internal sealed unsafe class EmbeddedKafka : IDisposable
{
    /// <summary>Group initial rebalance delay set by <see cref="Start"/> (the mock's own default is 3 s per join).</summary>
    public const int DefaultGroupInitialRebalanceDelayMs = 0;

    /// <summary>Broker id meaning "every broker" for <see cref="SetBrokerDown"/> and <see cref="SetBrokerUp"/>.</summary>
    public const int AllBrokers = -1;

    private const int ErrorTextSize = 512;

    private readonly LibrdkafkaApi _api;
    private readonly Lock _gate = new();
    private nint _handle;  // rd_kafka_t *, needed by the mock cluster for its book keeping
    private nint _cluster; // rd_kafka_mock_cluster_t *

    private EmbeddedKafka(LibrdkafkaApi api, nint handle, nint cluster, int brokers, string bootstrapServers)
    {
        _api = api;
        _handle = handle;
        _cluster = cluster;
        BrokerCount = brokers;
        BootstrapServers = bootstrapServers;
    }

    /// <summary>Comma-separated <c>host:port</c> list of the mock brokers (loopback).</summary>
    public string BootstrapServers { get; }

    /// <summary>Number of brokers; their ids are 1..<see cref="BrokerCount"/>.</summary>
    public int BrokerCount { get; }

    /// <summary>Full path of the librdkafka file in use (shared with Confluent.Kafka's clients).</summary>
    public string LibraryPath => _api.Path;

    /// <summary>librdkafka's version string.</summary>
    public string LibraryVersion => _api.Version;

    /// <summary>
    /// Loads the librdkafka file that works on this machine (once per process) and makes Confluent.Kafka use the same
    /// file. Call before creating any Confluent client; real clusters need it too. Returns the path that loaded.
    /// </summary>
    /// <exception cref="DllNotFoundException">No candidate loaded; the message lists each path tried and why.</exception>
    public static string EnsureLibraryLoaded() => LibrdkafkaLibrary.Api.Path;

    /// <summary>Starts a mock cluster with <paramref name="brokers"/> brokers (ids 1..n) on loopback ports.</summary>
    public static EmbeddedKafka Start(int brokers = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        var api = LibrdkafkaLibrary.Api;

        var conf = api.ConfNew();
        if (conf == 0)
        {
            throw new InvalidOperationException($"rd_kafka_conf_new returned NULL (librdkafka at '{api.Path}').");
        }

        nint handle;
        try
        {
            SetConf(api, conf, "client.id", "sluice-embedded-kafka");
            // Notices such as "no bootstrap.servers configured" are expected for this bookkeeping handle.
            SetConf(api, conf, "log_level", "4");
            var errstr = stackalloc byte[ErrorTextSize];
            errstr[0] = 0;
            handle = api.New(LibrdkafkaApi.ProducerType, conf, errstr, ErrorTextSize);
            if (handle == 0)
            {
                throw new InvalidOperationException($"rd_kafka_new failed (librdkafka at '{api.Path}'): {Marshal.PtrToStringUTF8((nint)errstr)}");
            }
        }
        catch
        {
            api.ConfDestroy(conf); // rd_kafka_new owns conf only when it succeeds
            throw;
        }

        var cluster = api.MockClusterNew(handle, brokers);
        if (cluster == 0)
        {
            api.Destroy(handle);
            throw new InvalidOperationException(
                $"rd_kafka_mock_cluster_new(brokers: {brokers}) returned NULL (librdkafka {api.Version} at '{api.Path}'); " +
                "it fails when it cannot create its listeners or its thread.");
        }

        var bootstraps = Marshal.PtrToStringUTF8((nint)api.MockClusterBootstraps(cluster));
        if (string.IsNullOrEmpty(bootstraps))
        {
            api.MockClusterDestroy(cluster);
            api.Destroy(handle);
            throw new InvalidOperationException($"rd_kafka_mock_cluster_bootstraps returned nothing (librdkafka at '{api.Path}').");
        }

        api.MockGroupInitialRebalanceDelayMs(cluster, DefaultGroupInitialRebalanceDelayMs);
        return new EmbeddedKafka(api, handle, cluster, brokers, bootstraps);
    }

    /// <summary>Creates a topic (the mock does not implement the CreateTopics request).</summary>
    public void CreateTopic(string name, int partitions, int replicationFactor = 1)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(replicationFactor, BrokerCount);
        var topic = LibrdkafkaApi.Utf8z(name);
        lock (_gate)
        {
            var cluster = Cluster();
            fixed (byte* t = topic)
            {
                Check(_api.MockTopicCreate(cluster, t, partitions, replicationFactor),
                    $"rd_kafka_mock_topic_create(topic: '{name}', partitions: {partitions}, replication factor: {replicationFactor})");
            }
        }
    }

    /// <summary>
    /// Deletes a topic with its records. With <see cref="CreateTopic"/> it stands in for adding partitions to a topic
    /// (the mock implements neither CreatePartitions nor growing a topic in place).
    /// </summary>
    public void DeleteTopic(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var topic = LibrdkafkaApi.Utf8z(name);
        lock (_gate)
        {
            var cluster = Cluster();
            fixed (byte* t = topic)
            {
                Check(_api.MockTopicDelete(cluster, t), $"rd_kafka_mock_topic_delete(topic: '{name}')");
            }
        }
    }

    /// <summary>
    /// Disconnects the broker (or <see cref="AllBrokers"/>) and refuses new connections. Does not move partition
    /// leadership: clients wait for it to come back unless <see cref="SetPartitionLeader"/> moves its partitions.
    /// </summary>
    public void SetBrokerDown(int brokerId)
    {
        CheckBroker(brokerId, allowAll: true);
        lock (_gate)
        {
            Check(_api.MockBrokerSetDown(Cluster(), brokerId), $"rd_kafka_mock_broker_set_down(broker: {brokerId})");
        }
    }

    /// <summary>Makes a downed broker (or <see cref="AllBrokers"/>) accept connections again.</summary>
    public void SetBrokerUp(int brokerId)
    {
        CheckBroker(brokerId, allowAll: true);
        lock (_gate)
        {
            Check(_api.MockBrokerSetUp(Cluster(), brokerId), $"rd_kafka_mock_broker_set_up(broker: {brokerId})");
        }
    }

    /// <summary>
    /// Moves the leadership of one partition to <paramref name="brokerId"/>. Note: the mock creates a topic that does
    /// not exist yet (with its default partition count) instead of failing.
    /// </summary>
    public void SetPartitionLeader(string topic, int partition, int brokerId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        CheckBroker(brokerId);
        var name = LibrdkafkaApi.Utf8z(topic);
        lock (_gate)
        {
            var cluster = Cluster();
            fixed (byte* t = name)
            {
                Check(_api.MockPartitionSetLeader(cluster, t, partition, brokerId),
                    $"rd_kafka_mock_partition_set_leader(topic: '{topic}', partition: {partition}, broker: {brokerId})");
            }
        }
    }

    /// <summary>
    /// Makes the next <c>errors.Length</c> requests with this ApiKey (on any broker) fail, in order, with these
    /// errors. <see cref="ErrorCode"/> values are librdkafka's rd_kafka_resp_err_t. See <see cref="KafkaApiKeys"/>.
    /// </summary>
    public void PushRequestErrors(short apiKey, params ErrorCode[] errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        ArgumentOutOfRangeException.ThrowIfNegative(apiKey);
        if (errors.Length == 0)
        {
            return;
        }

        var codes = new int[errors.Length];
        for (var i = 0; i < errors.Length; i++)
        {
            codes[i] = (int)errors[i];
        }

        lock (_gate)
        {
            var cluster = Cluster();
            fixed (int* e = codes)
            {
                _api.MockPushRequestErrorsArray(cluster, apiKey, (nuint)codes.Length, e);
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="brokerId"/> the coordinator of a transactional id (<paramref name="keyType"/> "transaction")
    /// or a consumer group ("group"): a coordinator move as the clients see it.
    /// </summary>
    public void SetCoordinator(string keyType, string key, int brokerId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(keyType);
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        CheckBroker(brokerId);
        var type = LibrdkafkaApi.Utf8z(keyType);
        var name = LibrdkafkaApi.Utf8z(key);
        lock (_gate)
        {
            var cluster = Cluster();
            fixed (byte* t = type)
            fixed (byte* k = name)
            {
                Check(_api.MockCoordinatorSet(cluster, t, k, brokerId), $"rd_kafka_mock_coordinator_set(type: '{keyType}', key: '{key}', broker: {brokerId})");
            }
        }
    }

    /// <summary>Sets how long a new consumer group waits for more members before its first rebalance.</summary>
    public void SetGroupInitialRebalanceDelay(TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        lock (_gate)
        {
            _api.MockGroupInitialRebalanceDelayMs(Cluster(), (int)Math.Min(delay.TotalMilliseconds, int.MaxValue));
        }
    }

    /// <summary>Destroys the mock cluster (closing its listeners and connections) and its librdkafka handle.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_cluster != 0)
            {
                _api.MockClusterDestroy(_cluster);
                _cluster = 0;
            }

            if (_handle != 0)
            {
                _api.Destroy(_handle);
                _handle = 0;
            }
        }
    }

    private nint Cluster()
    {
        ObjectDisposedException.ThrowIf(_cluster == 0, this);
        return _cluster;
    }

    private void CheckBroker(int brokerId, bool allowAll = false)
    {
        if ((brokerId < 1 || brokerId > BrokerCount) && !(allowAll && brokerId == AllBrokers))
        {
            throw new ArgumentOutOfRangeException(nameof(brokerId), brokerId,
                $"Broker ids are 1..{BrokerCount}" + (allowAll ? $" or {AllBrokers} for all." : "."));
        }
    }

    private void Check(int error, string call)
    {
        if (error != 0)
        {
            throw new InvalidOperationException($"{call} failed: {(ErrorCode)error} ({_api.ErrorText(error)}).");
        }
    }

    private static void SetConf(LibrdkafkaApi api, nint conf, string name, string value)
    {
        var n = LibrdkafkaApi.Utf8z(name);
        var v = LibrdkafkaApi.Utf8z(value);
        var errstr = stackalloc byte[ErrorTextSize];
        errstr[0] = 0;
        fixed (byte* pn = n, pv = v)
        {
            if (api.ConfSet(conf, pn, pv, errstr, ErrorTextSize) != LibrdkafkaApi.ConfOk)
            {
                throw new InvalidOperationException($"rd_kafka_conf_set({name}={value}) failed: {Marshal.PtrToStringUTF8((nint)errstr)}");
            }
        }
    }
}
