using Sluice.Dashboard;
using Sluice.Hosting;
using Sluice.AspNetCore;
using Sluice.Silo.Cli;
using Sluice.Silo.Demo;
using Sluice.Silo.Hosting;
using Sluice.Silo.Jobs;
using Sluice.Silo.Jobs.Fraud;
using Sluice.Sinks;
using Sluice.Kafka;
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

            if (kafkaOptions.OutputGuarantee == DeliveryGuarantee.ExactlyOnce && demo.CheckpointInterval is null)
            {
                throw new KafkaConfigurationException("Kafka:OutputGuarantee=ExactlyOnce commits output when checkpoints complete; set Sluice:Demo:CheckpointInterval.");
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
// The API key: Sluice:Api:ApiKey, or Sluice:ApiKey as before; required outside Development (the silo refuses to start).
builder.Services.AddSluiceApi(builder.Configuration.GetSection(SluiceApiOptions.SectionName))
    .PostConfigure<SluiceApiOptions>(o => o.ApiKey = string.IsNullOrEmpty(o.ApiKey) ? host.ApiKey : o.ApiKey);
builder.Services.AddOpenApi();

var app = builder.Build();
app.MapSluiceDashboard();
app.MapSluiceApi();
app.MapSluiceHealthChecks();
app.MapOpenApi();
app.MapSluiceTelemetry();
app.Lifetime.ApplicationStarted.Register(() =>
    Console.WriteLine($"[sluice] silo up; dashboard at {host.ApiUrl}/ , pipelines at {host.ApiUrl}/api/pipelines (Ctrl+C to stop)"));
await app.RunAsync();
