using System.Text.Json.Serialization;
using Sluice.Dashboard;
using Sluice.Hosting;
using Sluice.Silo.Api;
using Sluice.Silo.Cli;
using Sluice.Silo.Demo;
using Sluice.Silo.Hosting;
using Sluice.Silo.Jobs;
using Sluice.Silo.Jobs.Fraud;
using Sluice.Sinks;
using Sluice.Sources.Kafka;
using Sluice.Storage;
using Sluice.Telemetry;

if (args is [SavepointCommand.Verb, ..])
{
    // `Sluice.Silo savepoint <pipeline> <name>`: a client of a running silo's admin API, not a silo.
    Environment.ExitCode = await SavepointCommand.RunAsync(args[1..], Console.Out);
    return;
}

var builder = WebApplication.CreateBuilder(args);
var host = builder.Configuration.GetSection("Sluice").Get<SluiceHostOptions>() ?? new SluiceHostOptions();
var demo = builder.Configuration.GetSection("Sluice:Demo").Get<DemoOptions>() ?? new DemoOptions();

builder.WebHost.UseUrls(host.ApiUrl);
builder.UseOrleans(silo => silo
    .UseSluiceClustering(host, builder.Configuration)
    .AddSluice()
    .AddSluiceDashboard());

// The built-in job (Sluice:Job); every silo of a cluster must run the same one.
var runDemo = false;
if (string.Equals(host.Job.Trim(), "demo", StringComparison.OrdinalIgnoreCase))
{
    runDemo = demo.Enabled;
}
else if (string.Equals(host.Job.Trim(), WindowedCountsJob.Name, StringComparison.OrdinalIgnoreCase))
{
    WindowedCountsJob.Register(builder.Services, builder.Configuration);
}
else if (string.Equals(host.Job.Trim(), FraudJob.Name, StringComparison.OrdinalIgnoreCase))
{
    FraudJob.Register(builder.Services, builder.Configuration);
}
else
{
    throw new InvalidOperationException($"Unknown Sluice:Job '{host.Job}'; use 'demo', '{WindowedCountsJob.Name}' or '{FraudJob.Name}'.");
}

if (runDemo)
{
    builder.Services.AddSingleton(demo);
    var console = new ConsoleSink<TopUsers>("console", ClickPipeline.Format);
    switch (demo.Source)
    {
        case "generator":
            // The generator's event time starts at the wall clock of each run, so an earlier run's state does not apply.
            builder.Services.AddSluicePipeline(_ => ClickPipeline.Create(demo, ClickPipeline.Source(demo), resume: false, console));
            break;
        case "kafka":
            var kafkaOptions = builder.Configuration.GetSection("Kafka").Get<DemoKafkaOptions>() ?? new DemoKafkaOptions();
            if (KafkaFormats.Validate(kafkaOptions.Format, "Kafka:Format") != "json")
            {
                throw new KafkaConfigurationException("Kafka:Format: the demo's click events are JSON; 'raw' suits pipelines that read bytes.");
            }

            builder.Services.AddSingleton(kafkaOptions);
            builder.Services.AddSingleton<DemoKafka>();
            builder.Services.AddHostedService<ClickProducer>();
            builder.Services.AddSluicePipeline(services => KafkaClickPipeline.Create(demo, services.GetRequiredService<DemoKafka>(), console, services.GetRequiredService<ILoggerFactory>()));
            break;
        default:
            throw new InvalidOperationException($"Unknown Sluice:Demo:Source '{demo.Source}'; use 'kafka' or 'generator'.");
    }
}

builder.Services.AddSluiceCheckpointStorage(builder.Configuration.GetSection("Checkpoints"));
builder.Services.AddHostedService<StatusReporter>();
builder.Services.AddSluiceOpenTelemetry(builder.Configuration);
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new JsonStringEnumConverter()));

var app = builder.Build();
if (!string.IsNullOrEmpty(host.ApiKey))
{
    app.Use(async (context, next) =>
    {
        // Everything needs the key except the dashboard page's static files, which ask the user for it, and the
        // health endpoints under /health, which platform probes (Container Apps, Kubernetes) call without headers.
        var open = SluiceDashboardExtensions.IsPageFile(context.Request.Path) || context.Request.Path.StartsWithSegments("/health");
        if (!open && !SluiceDashboardExtensions.HasApiKey(context.Request, host.ApiKey))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        await next();
    });
}
else if (!app.Environment.IsDevelopment())
{
    app.Logger.LogWarning("Sluice:ApiKey is not set: the admin API at {Url} is open to anyone who can reach it", host.ApiUrl);
}

app.MapSluiceDashboard(host.ApiKey);
app.MapPipelineApi();
app.MapSluiceTelemetry();
app.Lifetime.ApplicationStarted.Register(() =>
    Console.WriteLine($"[sluice] silo up; dashboard at {host.ApiUrl}/ , pipelines at {host.ApiUrl}/api/pipelines (Ctrl+C to stop)"));
await app.RunAsync();
