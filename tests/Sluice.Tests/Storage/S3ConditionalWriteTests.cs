using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Sluice.Storage;

namespace Sluice.Tests.Storage;

/// <summary>
/// The S3 store's conditional-write path, which s3rver cannot exercise (it ignores <c>If-None-Match</c>), against
/// <see cref="ConditionalS3Endpoint"/>: a minimal in-process S3 endpoint written from the AWS documentation of
/// conditional writes (412 PreconditionFailed if the key exists, 409 ConditionalRequestConflict to be retried).
/// It checks this store's handling of those answers, not AWS itself.
/// </summary>
public sealed class S3ConditionalWriteTests : IDisposable
{
    private readonly ConditionalS3Endpoint _endpoint = new();

    public void Dispose() => _endpoint.Dispose();

    [Fact]
    public async Task Auto_mode_probes_and_uses_conditional_writes_where_the_endpoint_enforces_them()
    {
        using var store = Store(S3CommitMode.Auto);

        Assert.True(await store.CommitAsync("p/chk-1/_metadata", new byte[] { 1 }));
        Assert.Equal(S3CommitMode.Conditional, store.EffectiveCommitMode);
        Assert.False(await store.CommitAsync("p/chk-1/_metadata", new byte[] { 2 }));

        Assert.Equal(new byte[] { 1 }, await store.GetAsync("p/chk-1/_metadata"));
        Assert.True(_endpoint.ConditionalPuts >= 4, $"{_endpoint.ConditionalPuts} conditional PUTs (2 probes + 2 commits expected)");
        Assert.Equal(["p/chk-1/_metadata"], await store.ListAsync(string.Empty)); // the probe object is gone
    }

    [Fact]
    public async Task Of_eight_concurrent_conditional_commits_exactly_one_wins()
    {
        var stores = Enumerable.Range(0, 8).Select(_ => Store(S3CommitMode.Conditional)).ToList();
        try
        {
            var results = await Task.WhenAll(stores.Select((s, i) => Task.Run(() => s.CommitAsync("p/chk-2/_metadata", new byte[] { (byte)i }))));

            Assert.Single(results, r => r);
            Assert.Equal(new byte[] { (byte)Array.IndexOf(results, true) }, await stores[0].GetAsync("p/chk-2/_metadata"));
        }
        finally
        {
            stores.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task A_commit_whose_response_was_lost_recognises_its_own_object_on_the_retry()
    {
        using var store = Store(S3CommitMode.Conditional);
        _endpoint.LoseNextPutResponse = true; // stored, but answered 500: the SDK retries and gets 412

        Assert.True(await store.CommitAsync("p/chk-3/_metadata", new byte[] { 5 }));
        Assert.False(await store.CommitAsync("p/chk-3/_metadata", new byte[] { 6 }));
        Assert.Equal(new byte[] { 5 }, await store.GetAsync("p/chk-3/_metadata"));
    }

    [Fact]
    public async Task A_409_conditional_request_conflict_is_retried()
    {
        using var store = Store(S3CommitMode.Conditional);
        _endpoint.ConflictsToInject = 2;

        Assert.True(await store.CommitAsync("p/chk-4/_metadata", new byte[] { 7 }));
        Assert.Equal(0, _endpoint.ConflictsToInject);
        Assert.Equal(new byte[] { 7 }, await store.GetAsync("p/chk-4/_metadata"));
    }

    private S3CheckpointStore Store(S3CommitMode mode) => new(new S3CheckpointStoreOptions
    {
        Bucket = "fake",
        ServiceUrl = _endpoint.Url,
        ForcePathStyle = true,
        AccessKey = "a",
        SecretKey = "b",
        CommitMode = mode,
        MaxRetries = 2,
        Timeout = TimeSpan.FromSeconds(10),
    });
}

/// <summary>
/// Just enough of S3 (path style, one bucket, no auth check) for the conditional-write tests: PUT (with
/// <c>If-None-Match: *</c> and <c>x-amz-meta-*</c>), GET, HEAD, DELETE and ListObjectsV2 without paging.
/// </summary>
internal sealed class ConditionalS3Endpoint : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<string, (byte[] Body, Dictionary<string, string> Meta)> _objects = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private readonly Task _loop;
    private int _conditionalPuts;
    private int _conflicts;
    private volatile bool _loseNextPutResponse;

    public ConditionalS3Endpoint()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort();
            Url = $"http://127.0.0.1:{port}";
            _listener.Prefixes.Clear();
            _listener.Prefixes.Add(Url + "/");
            try
            {
                _listener.Start();
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
            }
        }

        _loop = Task.Run(LoopAsync);
    }

    public string Url { get; }

    public int ConditionalPuts => Volatile.Read(ref _conditionalPuts);

    public int ConflictsToInject
    {
        get => Volatile.Read(ref _conflicts);
        set => Volatile.Write(ref _conflicts, value);
    }

    public bool LoseNextPutResponse
    {
        get => _loseNextPutResponse;
        set => _loseNextPutResponse = value;
    }

    public void Dispose()
    {
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => Handle(context));
        }
    }

    private void Handle(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        try
        {
            var path = Uri.UnescapeDataString(request.Url!.AbsolutePath.TrimStart('/'));
            var slash = path.IndexOf('/', StringComparison.Ordinal);
            var key = slash < 0 ? string.Empty : path[(slash + 1)..];
            switch (request.HttpMethod)
            {
                case "PUT" when key.Length == 0:
                    response.StatusCode = 200; // CreateBucket
                    break;
                case "PUT":
                    Put(request, response, key);
                    break;
                case "GET" when key.Length == 0:
                    List(request, response);
                    break;
                case "GET" or "HEAD":
                    if (_objects.TryGetValue(key, out var stored))
                    {
                        foreach (var (name, value) in stored.Meta)
                        {
                            response.Headers[name] = value;
                        }

                        response.ContentLength64 = stored.Body.Length;
                        response.Headers["ETag"] = ETag(stored.Body);
                        if (request.HttpMethod == "GET")
                        {
                            response.OutputStream.Write(stored.Body);
                        }
                    }
                    else
                    {
                        Error(response, 404, "NoSuchKey", request.HttpMethod == "HEAD");
                    }

                    break;
                case "DELETE":
                    _objects.TryRemove(key, out _);
                    response.StatusCode = 204;
                    break;
                default:
                    Error(response, 501, "NotImplemented", false);
                    break;
            }
        }
        finally
        {
            response.Close();
        }
    }

    private void Put(HttpListenerRequest request, HttpListenerResponse response, string key)
    {
        using var body = new MemoryStream();
        request.InputStream.CopyTo(body);
        var meta = request.Headers.AllKeys
            .Where(h => h is not null && h.StartsWith("x-amz-meta-", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(h => h!.ToLowerInvariant(), h => request.Headers[h]!);
        var conditional = request.Headers["If-None-Match"] == "*";
        if (conditional)
        {
            Interlocked.Increment(ref _conditionalPuts);
            if (Interlocked.Decrement(ref _conflicts) >= 0)
            {
                Error(response, 409, "ConditionalRequestConflict", false);
                return;
            }

            Interlocked.Exchange(ref _conflicts, 0);
        }

        lock (_gate)
        {
            if (conditional && _objects.ContainsKey(key))
            {
                Error(response, 412, "PreconditionFailed", false);
                return;
            }

            _objects[key] = (body.ToArray(), meta);
        }

        if (_loseNextPutResponse)
        {
            _loseNextPutResponse = false;
            Error(response, 500, "InternalError", false);
            return;
        }

        response.Headers["ETag"] = ETag(body.ToArray());
        response.StatusCode = 200;
    }

    private void List(HttpListenerRequest request, HttpListenerResponse response)
    {
        var prefix = request.QueryString["prefix"] ?? string.Empty;
        var xml = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>fake</Name>");
        var keys = _objects.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        xml.Append($"<Prefix>{prefix}</Prefix><KeyCount>{keys.Count}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>");
        foreach (var k in keys)
        {
            xml.Append($"<Contents><Key>{System.Security.SecurityElement.Escape(k)}</Key><Size>{_objects[k].Body.Length}</Size><ETag>{ETag(_objects[k].Body)}</ETag><StorageClass>STANDARD</StorageClass></Contents>");
        }

        xml.Append("</ListBucketResult>");
        var bytes = Encoding.UTF8.GetBytes(xml.ToString());
        response.ContentType = "application/xml";
        response.ContentLength64 = bytes.Length;
        response.OutputStream.Write(bytes);
    }

    private static void Error(HttpListenerResponse response, int status, string code, bool head)
    {
        response.StatusCode = status;
        if (head)
        {
            return;
        }

        var bytes = Encoding.UTF8.GetBytes($"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code}</Message><RequestId>1</RequestId></Error>");
        response.ContentType = "application/xml";
        response.ContentLength64 = bytes.Length;
        response.OutputStream.Write(bytes);
    }

    /// <summary>S3's ETag of a single PUT is the body's MD5 (the SDK checks it); a protocol detail, not security.</summary>
#pragma warning disable CA5351
    private static string ETag(byte[] body) => $"\"{Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(body))}\"";
#pragma warning restore CA5351

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
