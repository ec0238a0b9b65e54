using OrderTotals;
using Sluice.AspNetCore;
using Sluice.Hosting;
using Sluice.Storage;

// A user's app hosting a single-silo Sluice cluster: the engine, one pipeline from this assembly, checkpoint storage
// and the admin API, all bound from configuration (appsettings.json, environment, command line).
var builder = WebApplication.CreateBuilder(args);
var ports = builder.Configuration.GetSection("Orleans");
builder.UseOrleans(silo => silo
    .UseLocalhostClustering(
        ports.GetValue("SiloPort", 11111),
        ports.GetValue("GatewayPort", 30000),
        serviceId: "order-totals",
        clusterId: ports.GetValue("ClusterId", "order-totals"))
    .AddSluice(builder.Configuration.GetSection(SluiceSiloBuilderExtensions.SourcesSectionName)));
builder.Services.AddSluicePipeline(() => OrderTotalsPipeline.Create(OrderTotalsPipeline.Source(), sink: null));
builder.Services.AddSluiceCheckpointStorage(builder.Configuration.GetSection(CheckpointStorageOptions.SectionName));
builder.Services.AddSluiceApi(builder.Configuration.GetSection(SluiceApiOptions.SectionName));

var app = builder.Build();
app.MapSluiceApi();
await app.RunAsync();
