using System.Runtime.InteropServices;
using System.Text;

namespace Sluice.Kafka.Embedded;

/// <summary>
/// Finds and loads the librdkafka build that works on this machine, once per process, and hands the same file to
/// Confluent.Kafka so that its clients and the embedded mock cluster share one library.
/// </summary>
/// <remarks>
/// librdkafka.redist ships several Linux builds side by side in <c>runtimes/linux-x64/native/</c>: the default
/// <c>librdkafka.so</c> needs libsasl2 (absent on Debian 12), <c>centos8-librdkafka.so</c> does not. The first file that
/// loads wins. Setting <c>SLUICE_LIBRDKAFKA_PATH</c> to a full file path puts that file first.
/// </remarks>
internal static class LibrdkafkaLibrary
{
    /// <summary>Environment variable naming a librdkafka file to try before the packaged ones.</summary>
    public const string PathVariable = "SLUICE_LIBRDKAFKA_PATH";

    private static readonly Lock Gate = new();
    private static LibrdkafkaApi? _api;

    /// <summary>The bound functions of the loaded library; loads it on first use.</summary>
    public static LibrdkafkaApi Api
    {
        get
        {
            lock (Gate)
            {
                return _api ??= Load();
            }
        }
    }

    /// <summary>
    /// Why candidates before the loaded one were skipped (empty when the first one loaded), for diagnostics;
    /// null until the library is loaded.
    /// </summary>
    public static string? Skipped { get; private set; }

    private static LibrdkafkaApi Load()
    {
        var candidates = Candidates(out var searched);
        if (candidates.Count == 0)
        {
            throw new DllNotFoundException(
                "No librdkafka native library was found. Looked in: " + string.Join(", ", searched) +
                ". The librdkafka.redist package (a dependency of Confluent.Kafka) puts it under runtimes/<rid>/native/ in the output; " +
                $"or set {PathVariable} to the full path of a librdkafka shared library.");
        }

        var handle = LoadFirst(candidates, out var path, out var skipped);
        var api = new LibrdkafkaApi(handle, path);
        HandToConfluent(handle, path);
        Skipped = skipped;
        return api;
    }

    /// <summary>
    /// Loads the first of <paramref name="candidates"/> (full paths) that loads and exports the mock cluster API.
    /// Throws <see cref="DllNotFoundException"/> listing every path with the loader's reason (dlerror on Linux).
    /// </summary>
    internal static nint LoadFirst(IEnumerable<string> candidates, out string path, out string skipped)
    {
        var failures = new StringBuilder();
        foreach (var candidate in candidates)
        {
            nint handle;
            try
            {
                // NativeLibrary.Load's message carries the loader's own text (dlerror on Linux), e.g. a missing dependency.
                handle = NativeLibrary.Load(candidate);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                failures.Append("\n  ").Append(candidate).Append(": ").Append(e.Message.Trim());
                continue;
            }

            if (!NativeLibrary.TryGetExport(handle, "rd_kafka_mock_cluster_new", out _))
            {
                failures.Append("\n  ").Append(candidate).Append(": loaded, but it has no rd_kafka_mock_cluster_new (not a librdkafka with mock cluster support)");
                NativeLibrary.Free(handle);
                continue;
            }

            path = candidate;
            skipped = failures.ToString().TrimStart();
            return handle;
        }

        throw new DllNotFoundException("No librdkafka native library could be loaded. Tried:" + (failures.Length == 0 ? " nothing" : failures.ToString()));
    }

    /// <summary>
    /// Makes Confluent.Kafka bind to the same loaded file. <c>Confluent.Kafka.Library.Load(path)</c> cannot do that
    /// here: on Linux it dlopens the path through <c>[DllImport("libdl")]</c> (Debian 12 has only libdl.so.2, so that
    /// throws) and then binds its P/Invokes by the fixed names "librdkafka" / "centos8-librdkafka" anyway. So the
    /// Confluent assembly gets a DllImport resolver that answers every librdkafka name with this handle, and then
    /// <c>Library.Load()</c> binds through it. Confluent loads librdkafka once per process: if a Confluent client was
    /// created before this point, it keeps what it loaded, which is why hosts call
    /// <see cref="EmbeddedKafka.EnsureLibraryLoaded"/> before building any client.
    /// </summary>
    private static void HandToConfluent(nint handle, string path)
    {
        if (Confluent.Kafka.Library.IsLoaded)
        {
            return;
        }

        var confluent = typeof(Confluent.Kafka.Library).Assembly;
        try
        {
            NativeLibrary.SetDllImportResolver(confluent, (name, _, _) => Resolve(name, handle));
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException(
                $"Could not point Confluent.Kafka at '{path}': its assembly already has a DllImport resolver. " +
                "Only EmbeddedKafka.EnsureLibraryLoaded should set one.", e);
        }

        try
        {
            Confluent.Kafka.Library.Load();
        }
        catch (Exception e)
        {
            throw new DllNotFoundException($"Confluent.Kafka could not bind to librdkafka at '{path}' (which loads with NativeLibrary.Load): {e.Message}", e);
        }
    }

    private static nint Resolve(string name, nint librdkafka)
    {
        if (name.Contains("rdkafka", StringComparison.OrdinalIgnoreCase))
        {
            return librdkafka;
        }

        // Library.Load(path) by someone else would dlopen through "libdl", which is libdl.so.2 on current glibc.
        if (name == "libdl" && OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libdl.so.2", out var libdl))
        {
            return libdl;
        }

        return 0; // default probing
    }

    private static List<string> Candidates(out List<string> searched)
    {
        var files = new List<string>();
        searched = [];

        var overridePath = Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrWhiteSpace(overridePath))
        {
            searched.Add($"{PathVariable}={overridePath}");
            files.Add(Path.GetFullPath(overridePath));
        }

        var rid = RuntimeId();
        var roots = new List<string> { AppContext.BaseDirectory };
        var confluentLocation = typeof(Confluent.Kafka.Library).Assembly.Location;
        if (!string.IsNullOrEmpty(confluentLocation) && Path.GetDirectoryName(confluentLocation) is { } confluentDir)
        {
            roots.Add(confluentDir);
        }

        var folders = new List<string>();
        foreach (var root in roots)
        {
            folders.Add(Path.Combine(root, "runtimes", rid, "native"));
            folders.Add(root); // RID-specific publish copies native files next to the assemblies
        }

        foreach (var folder in folders.Select(Path.GetFullPath).Distinct(StringComparer.Ordinal))
        {
            searched.Add(folder);
            if (!Directory.Exists(folder))
            {
                continue;
            }

            foreach (var name in PreferredNames())
            {
                var file = Path.Combine(folder, name);
                if (File.Exists(file))
                {
                    files.Add(file);
                }
            }

            var others = Directory.EnumerateFiles(folder)
                .Where(f => IsOtherLibrdkafka(Path.GetFileName(f)))
                .Order(StringComparer.Ordinal);
            files.AddRange(others);
        }

        return files.Distinct(StringComparer.Ordinal).ToList();
    }

    private static string[] PreferredNames()
    {
        if (OperatingSystem.IsWindows())
        {
            return ["librdkafka.dll"];
        }

        if (OperatingSystem.IsMacOS())
        {
            return ["librdkafka.dylib"];
        }

        return ["librdkafka.so", "centos8-librdkafka.so"];
    }

    private static bool IsOtherLibrdkafka(string name)
    {
        if (!name.Contains("rdkafka", StringComparison.OrdinalIgnoreCase) || name.Contains("rdkafkacpp", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (OperatingSystem.IsWindows())
        {
            return name.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        }

        if (OperatingSystem.IsMacOS())
        {
            return name.EndsWith(".dylib", StringComparison.Ordinal);
        }

        return name.EndsWith(".so", StringComparison.Ordinal) || name.Contains(".so.", StringComparison.Ordinal);
    }

    private static string RuntimeId()
    {
        var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        var arch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.X86 => "x86",
            Architecture.Arm64 => "arm64",
            Architecture.Arm => "arm",
            var other => other.ToString().ToLowerInvariant(),
        };
        return $"{os}-{arch}";
    }
}

/// <summary>
/// The librdkafka functions the embedded cluster uses, bound by name from one loaded file (no DllImport by a fixed
/// name, because the file that loads differs between machines). Signatures follow rdkafka.h and rdkafka_mock.h.
/// </summary>
internal sealed unsafe class LibrdkafkaApi
{
    public const int ProducerType = 0; // RD_KAFKA_PRODUCER
    public const int ConfOk = 0; // RD_KAFKA_CONF_OK

    public LibrdkafkaApi(nint handle, string path)
    {
        Path = path;
        Handle = handle;
        ConfNew = (delegate* unmanaged[Cdecl]<nint>)Export("rd_kafka_conf_new");
        ConfSet = (delegate* unmanaged[Cdecl]<nint, byte*, byte*, byte*, nuint, int>)Export("rd_kafka_conf_set");
        ConfDestroy = (delegate* unmanaged[Cdecl]<nint, void>)Export("rd_kafka_conf_destroy");
        New = (delegate* unmanaged[Cdecl]<int, nint, byte*, nuint, nint>)Export("rd_kafka_new");
        Destroy = (delegate* unmanaged[Cdecl]<nint, void>)Export("rd_kafka_destroy");
        Err2Str = (delegate* unmanaged[Cdecl]<int, byte*>)Export("rd_kafka_err2str");
        VersionStr = (delegate* unmanaged[Cdecl]<byte*>)Export("rd_kafka_version_str");
        MockClusterNew = (delegate* unmanaged[Cdecl]<nint, int, nint>)Export("rd_kafka_mock_cluster_new");
        MockClusterDestroy = (delegate* unmanaged[Cdecl]<nint, void>)Export("rd_kafka_mock_cluster_destroy");
        MockClusterBootstraps = (delegate* unmanaged[Cdecl]<nint, byte*>)Export("rd_kafka_mock_cluster_bootstraps");
        MockTopicCreate = (delegate* unmanaged[Cdecl]<nint, byte*, int, int, int>)Export("rd_kafka_mock_topic_create");
        MockBrokerSetDown = (delegate* unmanaged[Cdecl]<nint, int, int>)Export("rd_kafka_mock_broker_set_down");
        MockBrokerSetUp = (delegate* unmanaged[Cdecl]<nint, int, int>)Export("rd_kafka_mock_broker_set_up");
        MockPartitionSetLeader = (delegate* unmanaged[Cdecl]<nint, byte*, int, int, int>)Export("rd_kafka_mock_partition_set_leader");
        MockPushRequestErrorsArray = (delegate* unmanaged[Cdecl]<nint, short, nuint, int*, void>)Export("rd_kafka_mock_push_request_errors_array");
        MockGroupInitialRebalanceDelayMs = (delegate* unmanaged[Cdecl]<nint, int, void>)Export("rd_kafka_mock_group_initial_rebalance_delay_ms");
        MockCoordinatorSet = (delegate* unmanaged[Cdecl]<nint, byte*, byte*, int, int>)Export("rd_kafka_mock_coordinator_set");
        MockTopicDelete = (delegate* unmanaged[Cdecl]<nint, byte*, int>)Export("rd_kafka_mock_topic_delete");
    }

    /// <summary>Full path of the file that loaded.</summary>
    public string Path { get; }

    public nint Handle { get; }

    public delegate* unmanaged[Cdecl]<nint> ConfNew { get; }
    public delegate* unmanaged[Cdecl]<nint, byte*, byte*, byte*, nuint, int> ConfSet { get; }
    public delegate* unmanaged[Cdecl]<nint, void> ConfDestroy { get; }
    public delegate* unmanaged[Cdecl]<int, nint, byte*, nuint, nint> New { get; }
    public delegate* unmanaged[Cdecl]<nint, void> Destroy { get; }
    public delegate* unmanaged[Cdecl]<int, byte*> Err2Str { get; }
    public delegate* unmanaged[Cdecl]<byte*> VersionStr { get; }
    public delegate* unmanaged[Cdecl]<nint, int, nint> MockClusterNew { get; }
    public delegate* unmanaged[Cdecl]<nint, void> MockClusterDestroy { get; }
    public delegate* unmanaged[Cdecl]<nint, byte*> MockClusterBootstraps { get; }
    public delegate* unmanaged[Cdecl]<nint, byte*, int, int, int> MockTopicCreate { get; }
    public delegate* unmanaged[Cdecl]<nint, int, int> MockBrokerSetDown { get; }
    public delegate* unmanaged[Cdecl]<nint, int, int> MockBrokerSetUp { get; }
    public delegate* unmanaged[Cdecl]<nint, byte*, int, int, int> MockPartitionSetLeader { get; }
    public delegate* unmanaged[Cdecl]<nint, short, nuint, int*, void> MockPushRequestErrorsArray { get; }
    public delegate* unmanaged[Cdecl]<nint, int, void> MockGroupInitialRebalanceDelayMs { get; }
    public delegate* unmanaged[Cdecl]<nint, byte*, byte*, int, int> MockCoordinatorSet { get; }
    public delegate* unmanaged[Cdecl]<nint, byte*, int> MockTopicDelete { get; }

    /// <summary>librdkafka's version string, e.g. "2.16.0".</summary>
    public string Version => Marshal.PtrToStringUTF8((nint)VersionStr()) ?? "?";

    /// <summary>librdkafka's text for an rd_kafka_resp_err_t.</summary>
    public string ErrorText(int error) => Marshal.PtrToStringUTF8((nint)Err2Str(error)) ?? $"error {error}";

    /// <summary>A NUL-terminated UTF-8 copy of <paramref name="value"/> for passing as <c>const char *</c>.</summary>
    public static byte[] Utf8z(string value)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, bytes);
        return bytes;
    }

    private nint Export(string name)
    {
        if (!NativeLibrary.TryGetExport(Handle, name, out var address))
        {
            throw new EntryPointNotFoundException($"librdkafka at '{Path}' has no export '{name}'.");
        }

        return address;
    }
}
