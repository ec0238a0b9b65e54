using FeatureStore;
using Sluice.AspNetCore;
using Sluice.Hosting;
using Sluice.Sources;
using Sluice.Storage;

// One silo computing per-user click features live; samples/FeatureStore/App serves them. The clickstream is the demo's
// generator (event time = wall clock), at "Clicks:RecordsPerSecond" from "Clicks:Users" users.
var builder = WebApplication.CreateBuilder(args);
var orleans = builder.Configuration.GetSection("Orleans");
builder.UseOrleans(silo => silo
    .UseLocalhostClustering(
        orleans.GetValue("SiloPort", 11111),
        orleans.GetValue("GatewayPort", 30000),
        serviceId: orleans.GetValue("ServiceId", "sluice")!,
        clusterId: orleans.GetValue("ClusterId", "sluice")!)
    .AddSluice(builder.Configuration.GetSection(SluiceSiloBuilderExtensions.SourcesSectionName)));

var clicks = builder.Configuration.GetSection("Clicks");
var jitter = clicks.GetValue("MaxOutOfOrderness", TimeSpan.FromSeconds(2));
builder.Services.AddSluicePipeline(() => UserFeaturesPipeline.Create(
    ClickStream.Source(new GeneratorSourceOptions
    {
        Partitions = clicks.GetValue("Partitions", 4),
        RecordsPerSecond = clicks.GetValue("RecordsPerSecond", 2_000.0),
        KeyCount = clicks.GetValue("Users", 5_000L),
        MaxOutOfOrderness = jitter,
    }),
    jitter,
    configure: o =>
    {
        o.CheckpointInterval = TimeSpan.FromSeconds(10);
        o.ResumeFromCheckpoint = false; // the generator starts at the wall clock on every run
    }));
builder.Services.AddSluiceCheckpointStorage(builder.Configuration.GetSection(CheckpointStorageOptions.SectionName));
builder.Services.AddSluiceApi(builder.Configuration.GetSection(SluiceApiOptions.SectionName));

var app = builder.Build();
app.MapSluiceApi();
await app.RunAsync();
