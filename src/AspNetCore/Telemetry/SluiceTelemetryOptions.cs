using Microsoft.Extensions.Options;

namespace Sluice.Telemetry;

/// <summary>OpenTelemetry export of Sluice's and Orleans' metrics and traces (section "Sluice:Telemetry").</summary>
public sealed class SluiceTelemetryOptions
{
    /// <summary>The <c>service.name</c> resource attribute.</summary>
    public string ServiceName { get; set; } = "sluice";

    /// <summary>
    /// An OTLP collector to push metrics and traces to (e.g. http://collector:4317 over gRPC, http://collector:4318 over
    /// HTTP, where /v1/metrics and /v1/traces are added), or null for none. The standard
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> environment variable is used when this is not set.
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>"grpc" (default) or "http/protobuf".</summary>
    public string OtlpProtocol { get; set; } = "grpc";

    /// <summary>Serve a Prometheus scrape endpoint at <see cref="PrometheusPath"/>.</summary>
    public bool Prometheus { get; set; }

    public string PrometheusPath { get; set; } = "/metrics";

    /// <summary>Also record traces (checkpoints, recoveries, Orleans grain calls); metrics are always on.</summary>
    public bool Tracing { get; set; } = true;
}

internal sealed class SluiceTelemetryOptionsValidator : IValidateOptions<SluiceTelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, SluiceTelemetryOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ServiceName))
        {
            errors.Add("Sluice:Telemetry:ServiceName must not be empty.");
        }

        if (options.OtlpEndpoint is { Length: > 0 } endpoint && !Uri.TryCreate(endpoint, UriKind.Absolute, out _))
        {
            errors.Add($"Sluice:Telemetry:OtlpEndpoint '{endpoint}' is not an absolute URI (e.g. http://collector:4317).");
        }

        if (options.OtlpProtocol is not ("grpc" or "http/protobuf"))
        {
            errors.Add($"Sluice:Telemetry:OtlpProtocol '{options.OtlpProtocol}' is not supported; use 'grpc' or 'http/protobuf'.");
        }

        if (options.Prometheus && (string.IsNullOrEmpty(options.PrometheusPath) || options.PrometheusPath[0] != '/'))
        {
            errors.Add($"Sluice:Telemetry:PrometheusPath '{options.PrometheusPath}' must start with '/'.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
