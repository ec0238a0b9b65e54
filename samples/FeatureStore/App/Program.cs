using FeatureStore;
using Sluice.Hosting;

// Serves per-user features computed live by the user-features pipeline on a Sluice cluster: GET /features/{userId}.
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddSluiceClient(o => builder.Configuration.GetSection("Sluice:Client").Bind(o));
builder.Services.AddSingleton(TimeProvider.System);

var app = builder.Build();
app.MapGet("/features/{userId}", FeatureEndpoint.GetAsync);
await app.RunAsync();

/// <summary>The app's entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
