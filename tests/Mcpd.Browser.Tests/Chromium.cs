using Mcpd.Testing;
using Microsoft.Playwright;

[assembly: AssemblyFixture(typeof(Mcpd.Browser.Tests.Chromium))]

namespace Mcpd.Browser.Tests;

/// <summary>
/// Debian's Chromium (<c>apt-get install chromium</c> when missing: Playwright's own browser download cannot work
/// here), driven headless by Playwright for .NET; one browser for all the tests, a new context (cookies, storage,
/// viewport, colour scheme) per page.
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    private const string Executable = "/usr/bin/chromium";

    /// <summary>Every wait of a page (a locator, an expectation) gives up after this.</summary>
    public static readonly TimeSpan PageTimeout = TimeSpan.FromSeconds(10);

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("the browser is not started");

    public async ValueTask InitializeAsync()
    {
        await DebianPackages.EnsureAsync("chromium", [Executable], "the dashboard's browser tests");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Executable,
            Headless = true,
            // Tests run as root on CI, where Chromium's sandbox cannot start.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            Timeout = 60_000,
        });
    }

    /// <summary>A fresh page of <paramref name="width"/> x <paramref name="height"/> in <paramref name="scheme"/>, recording console errors.</summary>
    public async Task<DashboardPage> OpenAsync(Uri url, int width = 1280, int height = 860, ColorScheme scheme = ColorScheme.Light)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = width, Height = height },
            ColorScheme = scheme,
            DeviceScaleFactor = 1,
        });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)PageTimeout.TotalMilliseconds);
        var dashboard = new DashboardPage(context, page);
        await page.GotoAsync(url.ToString());
        return dashboard;
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}

/// <summary>One page of the dashboard and what its console said.</summary>
public sealed class DashboardPage : IAsyncDisposable
{
    private readonly IBrowserContext _context;
    private readonly List<string> _errors = [];

    public DashboardPage(IBrowserContext context, IPage page)
    {
        _context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (_errors)
                {
                    _errors.Add(message.Text);
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (_errors)
            {
                _errors.Add(error);
            }
        };
    }

    public IPage Page { get; }

    /// <summary>Console errors and uncaught exceptions so far.</summary>
    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_errors)
            {
                return [.. _errors];
            }
        }
    }

    /// <summary>
    /// Saves the whole page as a PNG in the test output folder (<see cref="Screenshots"/>) and returns its path; one
    /// the docs show (<paramref name="forDocs"/>) goes to docs/images too when asked.
    /// </summary>
    public async Task<string> ScreenshotAsync(string name, bool forDocs = true)
    {
        var path = Screenshots.PathOf(name);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        if (forDocs)
        {
            Screenshots.Publish(path);
        }

        return path;
    }

    public async ValueTask DisposeAsync() => await _context.DisposeAsync();
}
