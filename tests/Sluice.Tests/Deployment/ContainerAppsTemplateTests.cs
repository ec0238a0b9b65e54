using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Sluice.Silo.Demo;
using Sluice.Silo.Hosting;
using Sluice.Storage;
using Sluice.Telemetry;
using Sluice.Tests.Storage;

namespace Sluice.Tests.Deployment;

/// <summary>
/// infra/containerapps/main.bicep compiled by the real Bicep CLI (0.49.2, from NuGet) and the ARM template it produces
/// read back: what the silo container gets (settings the silo really binds, secrets, ports, probes, grace period) and
/// which Azure resources come with it. Nothing is deployed: that needs an Azure subscription.
/// </summary>
public sealed partial class ContainerAppsTemplateTests
{
    private static readonly string Template = Path.Combine(DevServiceProcess.RepoRoot, "infra", "containerapps", "main.bicep");

    [SkippableFact]
    public async Task The_template_compiles_and_lints_with_the_Bicep_CLI_without_a_warning()
    {
        Skip.If(BicepCli.Unavailable is not null, BicepCli.Unavailable);

        var build = await BicepCli.RunAsync("build", Template, "--stdout");
        var lint = await BicepCli.RunAsync("lint", Template);

        Assert.True(build.ExitCode == 0, $"bicep build exited {build.ExitCode}: {build.Error}");
        Assert.True(string.IsNullOrWhiteSpace(build.Error), $"bicep build reported: {build.Error}");
        Assert.True(lint.ExitCode == 0, $"bicep lint exited {lint.ExitCode}: {lint.Error}{lint.Output}");
        Assert.True(string.IsNullOrWhiteSpace(lint.Error + lint.Output), $"bicep lint reported: {lint.Error}{lint.Output}");
        Assert.Equal("Microsoft.App/containerApps", Resource(JsonNode.Parse(build.Output)!, "Microsoft.App/containerApps")["type"]!.GetValue<string>());
    }

    [SkippableFact]
    public async Task Every_setting_the_template_gives_the_silo_is_one_the_silo_binds()
    {
        Skip.If(BicepCli.Unavailable is not null, BicepCli.Unavailable);
        var arm = await CompileAsync();

        var names = SettingName().Matches(Text(arm)).Select(m => m.Groups[1].Value).Distinct().ToList();

        // The ones a working cluster cannot do without, in both storage modes, plus the API key and OTLP export.
        Assert.Superset(
            new HashSet<string>
            {
                "Sluice__ApiUrl", "Sluice__ApiKey", "Sluice__SiloPort", "Sluice__GatewayPort", "Sluice__ClusterId", "Sluice__Job",
                "Sluice__Clustering__Kind", "Sluice__Clustering__ConnectionString", "Sluice__Clustering__ServiceUri",
                "Sluice__Clustering__AdvertisedIPAddress", "Sluice__Clustering__TableName",
                "Checkpoints__Kind", "Checkpoints__AzureBlob__ConnectionString", "Checkpoints__AzureBlob__AccountUri", "Checkpoints__AzureBlob__Container",
                "Sluice__Telemetry__OtlpEndpoint", "Kafka__BootstrapServers",
            },
            names.ToHashSet());
        foreach (var name in names)
        {
            AssertTheSiloBinds(name);
        }
    }

    [SkippableFact]
    public async Task The_silo_container_is_probed_on_the_health_endpoints_and_outlives_its_graceful_shutdown()
    {
        Skip.If(BicepCli.Unavailable is not null, BicepCli.Unavailable);
        var arm = await CompileAsync();
        var app = Resource(arm, "Microsoft.App/containerApps");
        var template = app["properties"]!["template"]!;
        var container = template["containers"]!.AsArray().Single()!;

        var probes = container["probes"]!.AsArray().ToDictionary(p => p!["type"]!.GetValue<string>(), p => p!["httpGet"]!);
        Assert.Equal(new[] { "Liveness", "Readiness", "Startup" }, probes.Keys.Order());
        Assert.Equal("/health/live", Default(arm, probes["Liveness"]!["path"]!));
        Assert.Equal("/health/live", Default(arm, probes["Startup"]!["path"]!));
        Assert.Equal("/health/ready", Default(arm, probes["Readiness"]!["path"]!));
        Assert.All(probes.Values, p => Assert.Equal(5080, Variable(arm, p!["port"]!).GetValue<int>()));
        Assert.Equal(5080, Variable(arm, app["properties"]!["configuration"]!["ingress"]!["targetPort"]!).GetValue<int>());

        // SIGTERM -> the silo hands its key groups to the others (seconds) within .NET's 30 s host shutdown; the
        // platform's SIGKILL must come later than both.
        var grace = template["terminationGracePeriodSeconds"]!;
        Assert.True(int.Parse(Default(arm, grace)) > 30, "the default grace period must exceed the host's 30 s shutdown timeout");
        Assert.True(Parameter(arm, grace)["minValue"]!.GetValue<int>() >= 30);
    }

    [SkippableFact]
    public async Task The_template_brings_table_clustering_checkpoint_blobs_a_managed_identity_and_keeps_keys_in_secrets()
    {
        Skip.If(BicepCli.Unavailable is not null, BicepCli.Unavailable);
        var arm = await CompileAsync();

        var types = arm["resources"]!.AsArray().Select(r => r!["type"]!.GetValue<string>()).ToList();
        Assert.Superset(
            new HashSet<string>
            {
                "Microsoft.OperationalInsights/workspaces", "Microsoft.App/managedEnvironments", "Microsoft.App/containerApps",
                "Microsoft.Storage/storageAccounts/tableServices/tables", "Microsoft.Storage/storageAccounts/blobServices/containers",
                "Microsoft.ManagedIdentity/userAssignedIdentities", "Microsoft.Authorization/roleAssignments",
            },
            types.ToHashSet());

        var app = Resource(arm, "Microsoft.App/containerApps");
        Assert.Equal("UserAssigned", app["identity"]!["type"]!.GetValue<string>());
        var scale = app["properties"]!["template"]!["scale"]!;
        Assert.Equal("[parameters('minReplicas')]", scale["minReplicas"]!.GetValue<string>());
        Assert.Equal("[parameters('maxReplicas')]", scale["maxReplicas"]!.GetValue<string>());

        // Silo-to-silo and gateway ports are mapped, and only inside the environment.
        var ingress = app["properties"]!["configuration"]!["ingress"]!;
        var mappings = ingress["additionalPortMappings"]!.AsArray();
        Assert.Equal(new[] { "11111", "30000" }, mappings.Select(m => Default(arm, m!["targetPort"]!)).Order());
        Assert.All(mappings, m => Assert.False(m!["external"]!.GetValue<bool>()));

        // The key and the storage connection string reach the container as secret references, never as values.
        var text = Text(arm);
        Assert.Contains("createObject('name', 'Sluice__ApiKey', 'secretRef'", text, StringComparison.Ordinal);
        Assert.Contains("createObject('name', 'Sluice__Clustering__ConnectionString', 'secretRef'", text, StringComparison.Ordinal);
        Assert.Contains("createObject('name', 'Checkpoints__AzureBlob__ConnectionString', 'secretRef'", text, StringComparison.Ordinal);
        Assert.Equal("securestring", arm["parameters"]!["apiKey"]!["type"]!.GetValue<string>());
        Assert.Equal("securestring", arm["parameters"]!["registryPassword"]!["type"]!.GetValue<string>());
    }

    /// <summary>The compiled template, built once for the tests that read it (each test gets its own copy).</summary>
    private static async Task<JsonNode> CompileAsync() => JsonNode.Parse(await Compiled.Value)!;

    private static readonly Lazy<Task<string>> Compiled = new(async () =>
    {
        var build = await BicepCli.RunAsync("build", Template, "--stdout");
        Assert.True(build.ExitCode == 0, $"bicep build exited {build.ExitCode}: {build.Error}");
        return build.Output;
    });

    /// <summary>Binds the environment variable onto the options class the silo reads its section with, refusing unknown keys.</summary>
    private static void AssertTheSiloBinds(string environmentVariable)
    {
        var key = environmentVariable.Replace("__", ":", StringComparison.Ordinal);
        var segments = key.Split(':');
        var value = segments[^1].EndsWith("Port", StringComparison.Ordinal) ? "11111" : "x";
        var (section, options) = segments switch
        {
            ["Sluice", _] => ("Sluice", typeof(SluiceHostOptions)),
            ["Sluice", "Clustering", _] => (SiloClusteringOptions.SectionName, typeof(SiloClusteringOptions)),
            ["Sluice", "Demo", _] => ("Sluice:Demo", typeof(DemoOptions)),
            ["Sluice", "Telemetry", _] => ("Sluice:Telemetry", typeof(SluiceTelemetryOptions)),
            ["Checkpoints", ..] => (CheckpointStorageOptions.SectionName, typeof(CheckpointStorageOptions)),
            ["Kafka", _] => ("Kafka", typeof(DemoKafkaOptions)),
            _ => throw new Xunit.Sdk.XunitException($"{environmentVariable}: the silo reads no section this setting belongs to"),
        };

        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new(key, value)]).Build();
        try
        {
            configuration.GetSection(section).Get(options, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException e)
        {
            throw new Xunit.Sdk.XunitException($"{environmentVariable}: {options.Name} has no such setting ({e.Message})");
        }
    }

    /// <summary>The template as text, with quotes left as they are (expressions quote names with ').</summary>
    private static string Text(JsonNode arm) => arm.ToJsonString(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    private static JsonNode Resource(JsonNode arm, string type) =>
        arm["resources"]!.AsArray().Single(r => r!["type"]!.GetValue<string>() == type)!;

    /// <summary>The parameter an expression like <c>[parameters('x')]</c> names.</summary>
    private static JsonNode Parameter(JsonNode arm, JsonNode expression)
    {
        var match = ParameterReference().Match(expression.GetValue<string>());
        Assert.True(match.Success, $"{expression} does not name a parameter");
        return arm["parameters"]![match.Groups[1].Value]!;
    }

    /// <summary>The default value of the parameter an expression names, as text.</summary>
    private static string Default(JsonNode arm, JsonNode expression) => Parameter(arm, expression)["defaultValue"]!.ToJsonString().Trim('"');

    /// <summary>The value of the variable an expression like <c>[variables('x')]</c> names.</summary>
    private static JsonNode Variable(JsonNode arm, JsonNode expression)
    {
        var match = VariableReference().Match(expression.GetValue<string>());
        Assert.True(match.Success, $"{expression} does not name a variable");
        return arm["variables"]![match.Groups[1].Value]!;
    }

    [GeneratedRegex(@"'((?:Sluice|Checkpoints|Kafka)__[A-Za-z_]+)'")]
    private static partial Regex SettingName();

    [GeneratedRegex(@"^\[parameters\('([A-Za-z]+)'\)\]$")]
    private static partial Regex ParameterReference();

    [GeneratedRegex(@"^\[variables\('([A-Za-z]+)'\)\]$")]
    private static partial Regex VariableReference();
}
