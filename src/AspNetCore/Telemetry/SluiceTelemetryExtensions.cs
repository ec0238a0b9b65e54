using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Sluice.Diagnostics;

namespace Sluice.Telemetry;

/// <summary>Registers OpenTelemetry for Sluice's meter and activity source beside Orleans' own.</summary>
public static class SluiceTelemetryExtensions
{
    /// <summary>The meter and activity source Sluice publishes.</summary>
    public const string SourceName = SluiceInstruments.Name;

    /// <summary>Orleans' meter.</summary>
    public const string OrleansMeter = "Microsoft.Orleans";

    /// <summary>Orleans' activity sources (grain calls from clients and between grains).</summary>
    public static readonly IReadOnlyList<string> OrleansActivitySources = ["Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application"];

    /// <summary>Adds the "Sluice" and "Microsoft.Orleans" meters to a metrics pipeline.</summary>
    public static MeterProviderBuilder AddSluiceInstrumentation(this MeterProviderBuilder builder) => builder.AddMeter(SourceName, OrleansMeter);

    /// <summary>Adds the "Sluice" activity source (checkpoint and recovery spans) and Orleans' to a tracing pipeline.</summary>
    public static TracerProviderBuilder AddSluiceInstrumentation(this TracerProviderBuilder builder) =>
        builder.AddSource(SourceName).AddSource([.. OrleansActivitySources]);

    /// <summary>
    /// OpenTelemetry metrics (and traces unless turned off) for Sluice and Orleans, exported over OTLP when an endpoint
    /// is configured and served to Prometheus when enabled (map it with <see cref="MapSluiceTelemetry"/>).
    /// </summary>
    public static IServiceCollection AddSluiceOpenTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection("Sluice:Telemetry");
        services.AddOptions<SluiceTelemetryOptions>().Bind(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SluiceTelemetryOptions>, SluiceTelemetryOptionsValidator>();

        // The exporters are chosen at registration, so read the settings here too (validated again at start).
        var options = section.Get<SluiceTelemetryOptions>() ?? new SluiceTelemetryOptions();
        var endpoint = options.OtlpEndpoint is { Length: > 0 } configured ? configured : configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var otlp = endpoint is { Length: > 0 } && Uri.TryCreate(endpoint, UriKind.Absolute, out _);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(options.ServiceName))
            .WithMetrics(metrics =>
            {
                metrics.AddSluiceInstrumentation();
                if (otlp)
                {
                    metrics.AddOtlpExporter(o => ConfigureOtlp(o, endpoint!, options, "v1/metrics"));
                }

                if (options.Prometheus)
                {
                    metrics.AddPrometheusExporter(o => o.ScrapeEndpointPath = options.PrometheusPath);
                }
            });
        if (options.Tracing)
        {
            telemetry.WithTracing(tracing =>
            {
                tracing.AddSluiceInstrumentation();
                if (otlp)
                {
                    tracing.AddOtlpExporter(o => ConfigureOtlp(o, endpoint!, options, "v1/traces"));
                }
            });
        }

        return services;
    }

    /// <summary>
    /// Maps the Prometheus scrape endpoint when <see cref="SluiceTelemetryOptions.Prometheus"/> is on; with an API key
    /// configured (<c>Sluice:Api:ApiKey</c>) scrapers send it in <c>X-Api-Key</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapSluiceTelemetry(this IEndpointRouteBuilder endpoints)
    {
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<SluiceTelemetryOptions>>().Value;
        if (options.Prometheus)
        {
            Sluice.AspNetCore.ApiKeyFilter.RequireApiKey(endpoints.MapPrometheusScrapingEndpoint(options.PrometheusPath));
        }

        return endpoints;
    }

    /// <summary>
    /// The endpoint is the collector's base address, as <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is. Over gRPC that is all the
    /// exporter needs; over HTTP an endpoint set in code is used verbatim, so each signal's path (<c>v1/metrics</c>,
    /// <c>v1/traces</c>) is added here unless the configured URL already has a path of its own.
    /// </summary>
    internal static Uri ResolveOtlpEndpoint(string endpoint, string protocol, string signalPath)
    {
        var uri = new Uri(endpoint);
        if (protocol != "http/protobuf" || uri.AbsolutePath is not ("/" or ""))
        {
            return uri;
        }

        return new Uri(uri, signalPath);
    }

    private static void ConfigureOtlp(OtlpExporterOptions o, string endpoint, SluiceTelemetryOptions options, string signalPath)
    {
        o.Endpoint = ResolveOtlpEndpoint(endpoint, options.OtlpProtocol, signalPath);
        o.Protocol = options.OtlpProtocol == "http/protobuf" ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
    }
}
