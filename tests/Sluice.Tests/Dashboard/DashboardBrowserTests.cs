using System.Globalization;
using Microsoft.Playwright;
using Sluice.Tests.Chaos;
using Xunit.Abstractions;

namespace Sluice.Tests.Dashboard;

/// <summary>
/// The main job as a user runs it (the silo executable, demo pipeline on the generator source), its dashboard opened
/// in Debian's headless Chromium through Playwright (the installed browser, nothing downloaded). The page must list
/// the demo pipeline, draw its stage graph, show its record counts moving, answer the state query box, and link to
/// Orleans' dashboard; a screenshot is kept under TestResults/dashboard.
/// </summary>
public sealed class DashboardBrowserTests(ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";
    private const string Pipeline = "clicks";

    [SkippableFact]
    public async Task Dashboard_shows_the_demo_pipeline_and_its_numbers_move_in_headless_Chromium()
    {
        Skip.IfNot(File.Exists(Chromium), $"{Chromium} is not installed (Debian: apt-get install chromium; ./test.sh installs it when run as root)");
        var artifacts = ArtifactsFolder();
        await using var silo = SiloProcess.Start("dashboard-silo", artifacts, new Dictionary<string, string>
        {
            ["Sluice__ClusterId"] = $"dashboard-{Guid.NewGuid():N}",
            ["ASPNETCORE_ENVIRONMENT"] = "Development", // no API key: the page reads the API as a developer's silo serves it
            ["Sluice__ApiKey"] = "",
            ["Sluice__Demo__Source"] = "generator",
            ["Sluice__Demo__RecordsPerSecond"] = "2000",
            ["Checkpoints__FileSystem__Root"] = Path.Combine(artifacts, "checkpoints"),
        });
        await silo.WaitUntilServingAsync(Pipeline, TimeSpan.FromSeconds(120));
        Assert.Contains($"dashboard at http://127.0.0.1:{silo.ApiPort}/", silo.Tail(200), StringComparison.Ordinal);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1400, Height = 1100 } });
        var consoleErrors = new List<string>();
        page.Console += (_, message) =>
        {
            // Failed requests are judged below by their URL (the state query's 404 is expected until that endpoint exists).
            if (message.Type == "error" && !message.Text.StartsWith("Failed to load resource", StringComparison.Ordinal))
            {
                consoleErrors.Add(message.Text);
            }
        };
        page.Response += (_, response) =>
        {
            if (response.Status >= 400 && !response.Url.Contains($"/api/pipelines/{Pipeline}/state/", StringComparison.Ordinal))
            {
                consoleErrors.Add($"HTTP {response.Status} from {response.Url}");
            }
        };
        page.PageError += (_, error) => consoleErrors.Add(error);

        await page.GotoAsync($"http://127.0.0.1:{silo.ApiPort}/");
        var listed = page.Locator($"#pipelines li[data-pipeline='{Pipeline}']");
        await listed.WaitForAsync(new() { Timeout = 30_000 });
        Assert.Contains("Running", await listed.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(Pipeline, await page.Locator("#pipeline-id").InnerTextAsync());

        // The stage graph names the source and every stage of the demo.
        await page.Locator("#stage-graph").WaitForAsync();
        var graph = await page.Locator("#stage-graph").TextContentAsync() ?? string.Empty;
        foreach (var node in new[] { "clicks", "clicks-per-user", "top-users", "sink:console" })
        {
            Assert.Contains(node, graph, StringComparison.Ordinal);
        }

        // Its numbers move: records in grows between two readings and the throughput is above zero.
        var first = await ReadCountAsync(page, "#stat-recordsIn .value");
        var second = first;
        var patience = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30);
        while (second <= first && DateTimeOffset.UtcNow < patience)
        {
            await page.WaitForTimeoutAsync(1000);
            second = await ReadCountAsync(page, "#stat-recordsIn .value");
        }

        output.WriteLine($"records in on the page: {first} then {second}");
        Assert.True(second > first, $"records in did not move on the page: {first} then {second}");
        await WaitForAsync(async () => await ReadCountAsync(page, "#stat-rateIn .value") > 0, "a throughput above zero");
        await WaitForAsync(async () => (await page.Locator("#stat-lag .value").InnerTextAsync()) != "–", "a watermark lag");

        // The state query box calls GET /api/pipelines/{id}/state/{name}/{key} and shows the answer or its error.
        var stateRequests = new List<string>();
        page.Request += (_, request) =>
        {
            if (request.Url.Contains("/state/", StringComparison.Ordinal))
            {
                stateRequests.Add(new Uri(request.Url).AbsolutePath);
            }
        };
        var answer = await QueryStateAsync(page, "clicks-per-user", "user 1");
        output.WriteLine("state query: " + answer);
        Assert.Equal($"/api/pipelines/{Pipeline}/state/clicks-per-user/user%201", Assert.Single(stateRequests));
        Assert.True(
            answer.StartsWith("value:", StringComparison.Ordinal) || answer.StartsWith("no value for key", StringComparison.Ordinal)
                || answer.StartsWith("State queries are not available", StringComparison.Ordinal) || answer.Contains("HTTP 404", StringComparison.Ordinal),
            $"unexpected state query answer: {answer}");

        // How the box shows each kind of answer of that endpoint (its JSON, as Sluice.AspNetCore's StateQueryView writes it).
        var watermark = DateTimeOffset.UtcNow.AddSeconds(-3);
        await page.RouteAsync("**/api/pipelines/*/state/**", route => route.FulfillAsync(new()
        {
            Status = 200,
            ContentType = "application/json",
            Body = $$"""{"pipeline":"{{Pipeline}}","state":"counts","key":"u1","found":true,"value":{"clicks":42},"eventTimeWatermark":{{watermark.ToUnixTimeMilliseconds()}},"eventTimeWatermarkUtc":"{{watermark:O}}","lastCompletedCheckpointId":7,"keyGroup":12}""",
        }));
        var found = await QueryStateAsync(page, "counts", "u1");
        Assert.Contains("\"clicks\": 42", found, StringComparison.Ordinal);
        Assert.Contains("key group 12", found, StringComparison.Ordinal);
        Assert.Contains("last completed checkpoint: 7", found, StringComparison.Ordinal);
        Assert.Matches(@"\(\d+(\.\d)? s behind the wall clock\)", found);
        await page.UnrouteAsync("**/api/pipelines/*/state/**");
        await page.RouteAsync("**/api/pipelines/*/state/**", route => route.FulfillAsync(new()
        {
            Status = 503,
            ContentType = "application/problem+json",
            Body = """{"title":"The state is not available right now; retry shortly","status":503,"detail":"Key group 12 is restoring from checkpoint 7."}""",
        }));
        Assert.Equal("Not available right now, retry shortly (HTTP 503): Key group 12 is restoring from checkpoint 7.", await QueryStateAsync(page, "counts", "u1"));
        await page.UnrouteAsync("**/api/pipelines/*/state/**");
        await page.RouteAsync("**/api/pipelines/*/state/**", route => route.FulfillAsync(new()
        {
            Status = 404,
            ContentType = "application/json",
            Body = """{"error":"Pipeline 'clicks' has no queryable state 'nope'."}""",
        }));
        Assert.Equal("Not found (HTTP 404): Pipeline 'clicks' has no queryable state 'nope'.", await QueryStateAsync(page, "nope", "u1"));
        await page.UnrouteAsync("**/api/pipelines/*/state/**");

        // Orleans' own dashboard (grains, silos) is linked and served.
        var orleans = await page.Locator("#orleans-link").GetAttributeAsync("href");
        var orleansPage = await silo.Http.GetAsync(orleans);
        Assert.True(orleansPage.IsSuccessStatusCode, $"Orleans' dashboard at {orleans}: HTTP {(int)orleansPage.StatusCode}");
        Assert.Contains("Orleans Dashboard", await orleansPage.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Let the charts gather a few samples, then keep a picture of the page.
        await page.WaitForTimeoutAsync(3000);
        var screenshot = Path.Combine(artifacts, "dashboard.png");
        await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
        output.WriteLine($"screenshot: {screenshot}");
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot should hold a rendered page");
        Assert.True(consoleErrors.Count == 0, "the page logged errors: " + string.Join(" | ", consoleErrors));
    }

    [SkippableFact]
    public async Task With_an_API_key_the_page_loads_asks_for_the_key_and_shows_the_pipeline_once_it_is_typed()
    {
        Skip.IfNot(File.Exists(Chromium), $"{Chromium} is not installed (Debian: apt-get install chromium; ./test.sh installs it when run as root)");
        var artifacts = ArtifactsFolder();
        var key = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        await using var silo = SiloProcess.Start("dashboard-key-silo", artifacts, new Dictionary<string, string>
        {
            ["Sluice__ClusterId"] = $"dashboard-key-{Guid.NewGuid():N}",
            ["Sluice__ApiKey"] = key,
            ["Sluice__Demo__Source"] = "generator",
            ["Sluice__Demo__RecordsPerSecond"] = "2000",
            ["Checkpoints__FileSystem__Root"] = Path.Combine(artifacts, "checkpoints-key"),
        });
        await silo.WaitUntilServingAsync(Pipeline, TimeSpan.FromSeconds(120));

        // Without the key: the page and its files are served (and hold no key); the data and Orleans' views are not.
        using var anonymous = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = silo.Http.BaseAddress };
        foreach (var file in new[] { "/", "/dashboard/dashboard.js", "/dashboard/dashboard.css" })
        {
            using var response = await anonymous.GetAsync(file);
            Assert.True(response.IsSuccessStatusCode, $"{file} without the key: HTTP {(int)response.StatusCode}");
            Assert.DoesNotContain(key, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        foreach (var data in new[] { "/api/pipelines", $"/dashboard/api/pipelines/{Pipeline}/graph", "/orleans/" })
        {
            using var response = await anonymous.GetAsync(data);
            Assert.True(response.StatusCode == System.Net.HttpStatusCode.Unauthorized, $"{data} without the key: HTTP {(int)response.StatusCode}");
        }

        // Platform probes send no headers: the health endpoints are not behind the key.
        using (var health = await anonymous.GetAsync("/health/live"))
        {
            Assert.NotEqual(System.Net.HttpStatusCode.Unauthorized, health.StatusCode);
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1400, Height = 1100 } });
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);
        await page.GotoAsync($"http://127.0.0.1:{silo.ApiPort}/");

        // The page asks for the key and shows no pipeline yet.
        await page.Locator("#key-prompt").WaitForAsync(new() { State = WaitForSelectorState.Visible, Timeout = 30_000 });
        Assert.Contains("API key required", await page.Locator("#connection").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("#pipelines li").CountAsync());

        // A wrong key is refused, the right one shows the pipeline and its stage graph.
        await page.FillAsync("#api-key", "not-the-key");
        await page.DispatchEventAsync("#api-key", "change");
        await WaitForAsync(async () => (await page.Locator("#connection").InnerTextAsync()).Contains("wrong API key", StringComparison.Ordinal), "the wrong key refused");
        await page.FillAsync("#api-key", key);
        await page.DispatchEventAsync("#api-key", "change");
        var listed = page.Locator($"#pipelines li[data-pipeline='{Pipeline}']");
        await listed.WaitForAsync(new() { Timeout = 30_000 });
        await page.Locator("#stage-graph").WaitForAsync();
        Assert.False(await page.Locator("#key-prompt").IsVisibleAsync(), "the key prompt should go once the key works");
        Assert.Equal(key, await page.EvaluateAsync<string>("() => localStorage.getItem('sluice.apiKey')"));

        await page.ScreenshotAsync(new() { Path = Path.Combine(artifacts, "dashboard-with-key.png"), FullPage = true });

        // Orleans' dashboard cannot send the header: the page traded the key for a cookie scoped to it, so the link
        // opens in this browser, while a forged cookie or none is still refused.
        var cookies = await page.Context.CookiesAsync();
        var session = Assert.Single(cookies, c => c.Name == "Sluice-Dashboard");
        Assert.Equal("/orleans", session.Path);
        Assert.True(session.HttpOnly, "the dashboard session cookie must be HttpOnly");
        Assert.DoesNotContain(key, session.Value, StringComparison.Ordinal);
        var orleans = await page.GotoAsync($"http://127.0.0.1:{silo.ApiPort}/orleans/");
        Assert.NotNull(orleans);
        Assert.True(orleans.Ok, $"Orleans' dashboard in the browser with the key typed: HTTP {orleans.Status}");
        Assert.Contains("Orleans Dashboard", await orleans.TextAsync(), StringComparison.Ordinal);
        using (var forged = new HttpRequestMessage(HttpMethod.Get, "/orleans/"))
        {
            forged.Headers.Add("Cookie", "Sluice-Dashboard=" + (session.Value[0] == 'A' ? 'B' : 'A') + session.Value[1..]);
            using var refused = await anonymous.SendAsync(forged);
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using (var wrongKey = new HttpRequestMessage(HttpMethod.Post, "/dashboard/session"))
        {
            wrongKey.Headers.Add("X-Api-Key", "not-the-key");
            using var refused = await anonymous.SendAsync(wrongKey);
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.False(refused.Headers.Contains("Set-Cookie"), "a wrong key must not get a session");
        }

        Assert.True(errors.Count == 0, "the page threw: " + string.Join(" | ", errors));
    }

    /// <summary>Submits the state query box and returns what it shows once the answer is in.</summary>
    private static async Task<string> QueryStateAsync(IPage page, string name, string key)
    {
        await page.EvaluateAsync("() => { document.getElementById('state-result').textContent = ''; }");
        await page.FillAsync("#state-name", name);
        await page.FillAsync("#state-key", key);
        await page.ClickAsync("#state-query button");
        string text = "";
        await WaitForAsync(async () => (text = await page.Locator("#state-result").InnerTextAsync()) is { Length: > 0 } t && t != "querying…", "the state query's answer");
        return text;
    }

    private static async Task<long> ReadCountAsync(IPage page, string selector)
    {
        var text = (await page.Locator(selector).InnerTextAsync()).Trim();
        if (text == "–")
        {
            return 0;
        }

        var multiplier = text[^1] switch { 'k' => 1_000d, 'M' => 1_000_000d, 'G' => 1_000_000_000d, _ => 1d };
        var number = multiplier == 1d ? text : text[..^1];
        return (long)(double.Parse(number.Replace(",", string.Empty, StringComparison.Ordinal), CultureInfo.InvariantCulture) * multiplier);
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"the page did not show {what} within 30 s");
            await Task.Delay(250);
        }
    }

    /// <summary>TestResults/dashboard under the repository root (where ./test.sh keeps its results).</summary>
    private static string ArtifactsFolder()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Orleans.sln")))
        {
            dir = dir.Parent;
        }

        var folder = Path.Combine(dir?.FullName ?? AppContext.BaseDirectory, "TestResults", "dashboard");
        Directory.CreateDirectory(folder);
        return folder;
    }
}
