using System.Net.Http.Json;
using System.Text.Json;
using Sluice.Grains;

namespace Sluice.Silo.Cli;

/// <summary>
/// <c>Sluice.Silo savepoint &lt;pipeline&gt; &lt;name&gt; [--api URL] [--api-key KEY] [--timeout SECONDS]</c>: asks a running silo's
/// admin API for a savepoint and waits until it completes or fails. Exit code 0 on success.
/// </summary>
internal static class SavepointCommand
{
    public const string Verb = "savepoint";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        var positional = new List<string>();
        string api = "http://127.0.0.1:5080", apiKey = Environment.GetEnvironmentVariable("Sluice__ApiKey") ?? string.Empty;
        var timeout = TimeSpan.FromMinutes(2);
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--api" when i + 1 < args.Length:
                    api = args[++i].TrimEnd('/');
                    break;
                case "--api-key" when i + 1 < args.Length:
                    apiKey = args[++i];
                    break;
                case "--timeout" when i + 1 < args.Length && int.TryParse(args[i + 1], out var seconds):
                    timeout = TimeSpan.FromSeconds(seconds);
                    i++;
                    break;
                default:
                    positional.Add(args[i]);
                    break;
            }
        }

        if (positional.Count != 2)
        {
            await output.WriteLineAsync("usage: Sluice.Silo savepoint <pipeline> <name> [--api http://127.0.0.1:5080] [--api-key KEY] [--timeout SECONDS]");
            return 2;
        }

        var (pipeline, name) = (positional[0], positional[1]);
        using var http = new HttpClient { BaseAddress = new Uri(api + "/") };
        if (apiKey.Length > 0)
        {
            http.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        }

        try
        {
            var response = await http.PostAsJsonAsync($"api/pipelines/{Uri.EscapeDataString(pipeline)}/savepoints", new { name });
            if (!response.IsSuccessStatusCode)
            {
                await output.WriteLineAsync($"savepoint '{name}' of '{pipeline}' refused ({(int)response.StatusCode}): {await response.Content.ReadAsStringAsync()}");
                return 1;
            }

            using var deadline = new CancellationTokenSource(timeout);
            while (!deadline.IsCancellationRequested)
            {
                var savepoints = await http.GetFromJsonAsync<List<SavepointInfo>>($"api/pipelines/{Uri.EscapeDataString(pipeline)}/savepoints", Json) ?? [];
                if (savepoints.FirstOrDefault(s => s.Name == name && s.State != CheckpointState.InProgress) is { } done)
                {
                    await output.WriteLineAsync(done.State == CheckpointState.Completed
                        ? $"savepoint '{name}' of '{pipeline}' completed: checkpoint {done.CheckpointId}, {done.Bytes} bytes; start a run from it with PipelineOptions.StartFromSavepoint = \"{name}\" (built-in job: Jobs:WindowedCounts:StartFromSavepoint)"
                        : $"savepoint '{name}' of '{pipeline}' failed: {done.Failure}");
                    return done.State == CheckpointState.Completed ? 0 : 1;
                }

                await Task.Delay(250);
            }

            await output.WriteLineAsync($"savepoint '{name}' of '{pipeline}' did not complete within {timeout}");
            return 1;
        }
        catch (HttpRequestException ex)
        {
            await output.WriteLineAsync($"cannot reach the silo's admin API at {api}: {ex.Message}");
            return 1;
        }
    }
}
