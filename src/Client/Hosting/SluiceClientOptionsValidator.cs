using System.Net;
using Microsoft.Extensions.Options;

namespace Sluice.Hosting;

/// <summary>Rejects <see cref="SluiceClientOptions"/> the Orleans client could not connect with, saying why.</summary>
internal sealed class SluiceClientOptionsValidator : IValidateOptions<SluiceClientOptions>
{
    public ValidateOptionsResult Validate(string? name, SluiceClientOptions options)
    {
        List<string> failures = [];

        if (options.GatewayPort is < 1 or > IPEndPoint.MaxPort)
        {
            failures.Add(
                $"SluiceClientOptions.GatewayPort must be between 1 and {IPEndPoint.MaxPort} (the silo gateway port, 30000 by default); it was {options.GatewayPort}");
        }

        CheckId(failures, nameof(SluiceClientOptions.ClusterId), options.ClusterId);
        CheckId(failures, nameof(SluiceClientOptions.ServiceId), options.ServiceId);

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckId(List<string> failures, string property, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            failures.Add($"SluiceClientOptions.{property} must not be empty; it must match the silos' {property} (\"sluice\" by default)");
        }
        else if (value.Trim().Length != value.Length)
        {
            failures.Add($"SluiceClientOptions.{property} must not start or end with white space; it was \"{value}\"");
        }
    }
}
