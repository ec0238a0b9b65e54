using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sluice.Silo.Hosting;

namespace Sluice.Tests.Hosting;

/// <summary>The silo's clustering settings: which grain directory a cluster gets, and what a wrong setting says.</summary>
public sealed class SiloClusteringOptionsTests
{
    private const string Azurite = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;";

    [Theory]
    [InlineData("Localhost", null, "Default")]
    [InlineData("AzureTable", null, "Distributed")]
    [InlineData("AzureTable", "default", "Default")]
    [InlineData("Localhost", "DISTRIBUTED", "Distributed")]
    public void The_grain_directory_defaults_to_the_distributed_one_for_real_clusters_and_can_be_chosen(string kind, string? directory, string expected)
    {
        var options = Bind(("Kind", kind), ("ConnectionString", Azurite), ("GrainDirectory", directory));

        Assert.Empty(options.Validate());
        Assert.Equal(expected, options.ResolvedGrainDirectory);
    }

    [Fact]
    public void An_unknown_grain_directory_is_refused_naming_the_setting_and_the_choices()
    {
        var options = Bind(("Kind", "AzureTable"), ("ConnectionString", Azurite), ("GrainDirectory", "Redis"));

        var error = Assert.Single(options.Validate());
        Assert.Contains("Sluice:Clustering:GrainDirectory 'Redis'", error, StringComparison.Ordinal);
        Assert.Contains("Default, Distributed", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("auto", true)]
    [InlineData("AUTO", true)]
    [InlineData("10.0.0.7", true)]
    [InlineData("my-host", false)]
    public void The_advertised_address_is_an_IP_or_auto_for_the_machines_own(string address, bool valid)
    {
        var options = Bind(("Kind", "AzureTable"), ("ConnectionString", Azurite), ("AdvertisedIPAddress", address));

        var errors = options.Validate();

        Assert.Equal(valid, errors.Count == 0);
        Assert.Equal(address.Equals("auto", StringComparison.OrdinalIgnoreCase), options.AdvertisesOwnAddress);
        if (!valid)
        {
            Assert.Contains("Sluice:Clustering:AdvertisedIPAddress 'my-host' is not an IP address (nor 'auto')", errors[0], StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(null, "https://acct.table.core.windows.net", null)]
    [InlineData(Azurite, null, null)]
    [InlineData(null, null, "Sluice:Clustering:ConnectionString is empty")]
    [InlineData(Azurite, "https://acct.table.core.windows.net", "ConnectionString and Sluice:Clustering:ServiceUri are both set")]
    [InlineData(null, "acct.table.core.windows.net", "Sluice:Clustering:ServiceUri 'acct.table.core.windows.net' is not an absolute http(s) URL")]
    public void Table_clustering_takes_a_connection_string_or_a_service_url_for_a_managed_identity(string? connectionString, string? serviceUri, string? expectedError)
    {
        var options = Bind(("Kind", "AzureTable"), ("ConnectionString", connectionString), ("ServiceUri", serviceUri), ("AdvertisedIPAddress", "auto"));

        var errors = options.Validate();

        if (expectedError is null)
        {
            Assert.Empty(errors);
        }
        else
        {
            Assert.Contains(expectedError, Assert.Single(errors), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_misspelt_directory_setting_stops_the_silo_with_its_path()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Sluice:Clustering:Directory:RangeLeaseDurtion"] = "00:00:05",
        }).Build();

        var failure = Assert.Throws<InvalidOperationException>(() =>
            new TestSiloBuilder().UseSluiceClustering(new SluiceHostOptions(), configuration));

        Assert.Contains("Sluice:Clustering:Directory", failure.Message, StringComparison.Ordinal);
    }

    private static SiloClusteringOptions Bind(params (string Key, string? Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Where(s => s.Value is not null).Select(s => new KeyValuePair<string, string?>($"Sluice:Clustering:{s.Key}", s.Value)))
            .Build();
        return configuration.GetSection(SiloClusteringOptions.SectionName).Get<SiloClusteringOptions>()!;
    }

    private sealed class TestSiloBuilder : ISiloBuilder
    {
        public IServiceCollection Services { get; } = new ServiceCollection();

        public IConfiguration Configuration { get; } = new ConfigurationBuilder().Build();
    }
}
