using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Mcpd.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Mcpd.Browser.Tests;

/// <summary>
/// The dashboard (docs/dashboard.md) in a real browser against the real host on loopback: what a user sees, live
/// updates from Modbus clients, writes from the page, refusals, roles, a failing upstream and the request log.
/// </summary>
public sealed class DashboardTests(Chromium chromium)
{
    private const string ViewerToken = "wall-display-token-7c1d";
    private const string OperatorToken = "operator-token-93ab";

    [Fact]
    public async Task The_page_loads_without_console_errors_and_shows_the_seed_device_with_its_values()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using var dashboard = await chromium.OpenAsync(server.AdminUri);
        var page = dashboard.Page;

        await Expect(page.Locator("table.devices tr[data-unit='1']")).ToContainTextAsync("sensor");
        await Expect(page.Locator("#live")).ToHaveTextAsync("live");
        await page.Locator("table.devices tr[data-unit='1'] a").ClickAsync();

        await Expect(Value(page, 0)).ToHaveTextAsync("100 °C");
        await Expect(Value(page, 1)).ToHaveTextAsync("85 %");
        await Expect(page.Locator("tr[data-address='0']")).ToContainTextAsync("temperature");
        await Expect(page.Locator("tr[data-address='0']")).ToContainTextAsync("40001");
        await Expect(page.Locator("tr[data-address='0'] .raw")).ToHaveTextAsync("0x0064");
        Assert.Empty(dashboard.Errors);
    }

    [Fact]
    public async Task A_value_written_by_a_Modbus_client_appears_within_a_second_without_a_reload()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using var dashboard = await chromium.OpenAsync(new Uri(server.AdminUri, "#/device/1"));
        var page = dashboard.Page;
        await Expect(Value(page, 0)).ToHaveTextAsync("100 °C");
        await using var client = await server.ConnectClientAsync();

        await client.WriteSingleRegisterAsync(1, 0, 321);

        await Expect(Value(page, 0)).ToHaveTextAsync("321 °C", new() { Timeout = 1000 });
        await Expect(page.Locator("tr[data-address='0']")).ToHaveClassAsync("changed");
        Assert.Empty(dashboard.Errors);
    }

    [Fact]
    public async Task A_write_from_the_page_is_confirmed_and_reaches_a_Modbus_client()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using var dashboard = await chromium.OpenAsync(new Uri(server.AdminUri, "#/device/1"));
        var page = dashboard.Page;
        await Expect(Value(page, 1)).ToHaveTextAsync("85 %");

        await Value(page, 1).ClickAsync();
        await page.Locator("tr[data-address='1'] input.edit").FillAsync("42");
        await page.Locator("tr[data-address='1'] button[data-action='write']").ClickAsync();
        await Expect(page.Locator("tr[data-address='1'] .hint-text")).ToHaveTextAsync("Write 42 % to humidity?");
        await page.Locator("tr[data-address='1'] button[data-action='confirm']").ClickAsync();

        await Expect(Value(page, 1)).ToHaveTextAsync("42 %");
        await using var client = await server.ConnectClientAsync();
        Assert.Equal([42], await client.ReadHoldingRegistersAsync(1, 1, 1));
        Assert.Empty(dashboard.Errors);
    }

    [Fact]
    public async Task A_refused_write_shows_the_error_the_API_answers_and_writes_nothing()
    {
        await using var server = await McpdTestServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.AdminUri };
        using var refused = await http.PutAsJsonAsync("api/devices/1/registers/0?table=holding", new { value = 70000 });
        var expected = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString();
        await using var dashboard = await chromium.OpenAsync(new Uri(server.AdminUri, "#/device/1"));
        var page = dashboard.Page;
        await Expect(Value(page, 0)).ToHaveTextAsync("100 °C");

        await Value(page, 0).ClickAsync();
        await page.Locator("tr[data-address='0'] input.edit").FillAsync("70000");
        await page.Locator("tr[data-address='0'] button[data-action='write']").ClickAsync();
        await page.Locator("tr[data-address='0'] button[data-action='confirm']").ClickAsync();

        await Expect(page.Locator("tr[data-address='0'] .error-text")).ToHaveTextAsync(expected!);
        await dashboard.ScreenshotAsync("dashboard-refused-write");
        await using var client = await server.ConnectClientAsync();
        Assert.Equal([100], await client.ReadHoldingRegistersAsync(1, 0, 1));
    }

    [Fact]
    public async Task With_tokens_the_page_asks_for_one_and_a_read_only_role_sees_values_but_no_write_control()
    {
        await using var server = await McpdTestServer.StartAsync(Roles());
        await using var dashboard = await chromium.OpenAsync(new Uri(server.AdminUri, "#/device/1"));
        var page = dashboard.Page;

        await Expect(page.Locator("#token-dialog")).ToBeVisibleAsync();
        await Expect(page.Locator("td.value")).ToHaveCountAsync(0);
        await page.Locator("#token-input").FillAsync(ViewerToken);
        await page.Locator("#token-form button[type='submit']").ClickAsync();

        await Expect(Value(page, 0)).ToHaveTextAsync("100 °C");
        await Expect(page.Locator("#caller")).ToHaveTextAsync("wall-display (role Viewer)");
        await Expect(page.Locator("td.value.writable")).ToHaveCountAsync(0);
        await Value(page, 0).ClickAsync();
        await Expect(page.Locator("input.edit")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task With_tokens_a_role_that_may_write_gets_the_write_control()
    {
        await using var server = await McpdTestServer.StartAsync(Roles());
        await using var dashboard = await chromium.OpenAsync(new Uri(server.AdminUri, "#/device/1"));
        var page = dashboard.Page;
        await page.Locator("#token-input").FillAsync(OperatorToken);
        await page.Locator("#token-form button[type='submit']").ClickAsync();

        await Expect(page.Locator("td.value.writable")).ToHaveCountAsync(2);
    }

    [Fact]
    public async Task A_killed_upstream_turns_red()
    {
        var device = await McpdTestServer.StartAsync();
        await using var gateway = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["devices:0:unit"] = "1",
            ["devices:0:name"] = "boiler",
            ["devices:1:unit"] = "2",
            ["devices:1:name"] = "plc-7",
            ["devices:1:upstream"] = "plc",
            ["upstreams:plc:address"] = $"127.0.0.1:{device.ModbusEndPoint.Port}",
            ["upstreams:plc:probe:interval"] = "00:00:00.2",
            ["upstreams:plc:requestTimeout"] = "00:00:00.3",
        });
        await using var dashboard = await chromium.OpenAsync(gateway.AdminUri);
        var page = dashboard.Page;
        var upstream = page.Locator("table.devices tr[data-unit='2'] .dot");
        await Expect(upstream).ToHaveClassAsync("dot ok");
        await dashboard.ScreenshotAsync("dashboard-overview", forDocs: false);

        await device.DisposeAsync();

        await Expect(upstream).ToHaveClassAsync("dot bad", new() { Timeout = 15_000 });
        await page.Locator("#nav a[data-view='upstreams']").ClickAsync();
        await Expect(page.Locator("article[data-upstream='plc']")).ToHaveClassAsync("card bad");
        await Expect(page.Locator("article[data-upstream='plc'] .timeline li").First).ToContainTextAsync("Down");
        await dashboard.ScreenshotAsync("dashboard-upstreams");
    }

    [Fact]
    public async Task The_traffic_view_logs_a_request_made_by_mbpoll_and_charts_the_rate()
    {
        await DebianPackages.EnsureAsync("mbpoll", ["/usr/bin/mbpoll"], "the dashboard's request log test");
        await using var server = await McpdTestServer.StartAsync();
        await using var dashboard = await chromium.OpenAsync(new Uri(server.AdminUri, "#/traffic"));
        var page = dashboard.Page;
        await Expect(page.Locator("#live")).ToHaveTextAsync("live");

        var mbpoll = await ProcessRunner.RunAsync("/usr/bin/mbpoll",
            ["-m", "tcp", "-p", server.ModbusEndPoint.Port.ToString(CultureInfo.InvariantCulture), "-a", "1", "-t", "4", "-r", "1", "-c", "2", "-1", "127.0.0.1"]);
        Assert.True(mbpoll.Succeeded, mbpoll.ToString());

        var row = page.Locator("table.requests tbody tr").Filter(new() { HasText = "03 read holding registers" });
        await Expect(row).ToContainTextAsync("read holding 0..1 → [100, 85]");
        await Expect(row).ToContainTextAsync("127.0.0.1:");
        await Expect(row).ToContainTextAsync("ok");
        await Expect(page.Locator("[data-figure='modbus-rps']")).Not.ToHaveTextAsync("–");
        Assert.Empty(dashboard.Errors);
    }

    [Fact]
    public async Task Screenshots_desktop_phone_and_dark()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["devices:0:unit"] = "1",
            ["devices:0:name"] = "boiler room",
            ["devices:0:updateInterval"] = "00:00:00.25",
            ["devices:0:registers:0:name"] = "supply_temperature",
            ["devices:0:registers:0:address"] = "0",
            ["devices:0:registers:0:type"] = "int16",
            ["devices:0:registers:0:scale"] = "0.1",
            ["devices:0:registers:0:unit"] = "°C",
            ["devices:0:registers:0:description"] = "boiler supply temperature, tenths of a degree",
            ["devices:0:registers:0:readOnly"] = "true",
            ["devices:0:registers:0:generator:kind"] = "sine",
            ["devices:0:registers:0:generator:min"] = "55",
            ["devices:0:registers:0:generator:max"] = "75",
            ["devices:0:registers:0:generator:period"] = "00:00:06",
            ["devices:0:registers:1:name"] = "pressure",
            ["devices:0:registers:1:address"] = "1",
            ["devices:0:registers:1:type"] = "float32",
            ["devices:0:registers:1:unit"] = "bar",
            ["devices:0:registers:1:description"] = "loop pressure",
            ["devices:0:registers:1:value"] = "1.8",
            ["devices:0:registers:2:name"] = "setpoint",
            ["devices:0:registers:2:address"] = "3",
            ["devices:0:registers:2:unit"] = "°C",
            ["devices:0:registers:2:description"] = "target flow temperature",
            ["devices:0:registers:2:value"] = "70",
            ["devices:0:registers:3:name"] = "burner_starts",
            ["devices:0:registers:3:address"] = "4",
            ["devices:0:registers:3:type"] = "uint32",
            ["devices:0:registers:3:description"] = "burner starts since commissioning",
            ["devices:0:registers:3:value"] = "2024117",
            ["devices:0:registers:3:generator:kind"] = "counter",
            ["devices:0:registers:3:generator:step"] = "1",
            ["devices:0:registers:3:generator:min"] = "2024000",
            ["devices:0:registers:3:generator:max"] = "2100000",
            ["devices:0:registers:3:generator:period"] = "00:00:01",
        });
        await using var client = await server.ConnectClientAsync();
        using var traffic = new CancellationTokenSource();
        var load = Task.Run(async () =>
        {
            while (!traffic.IsCancellationRequested)
            {
                await client.ReadHoldingRegistersAsync(1, 0, 6);
                await Task.Delay(5);
            }
        });
        try
        {
            await using (var desktop = await chromium.OpenAsync(new Uri(server.AdminUri, "#/device/1")))
            {
                await Expect(Value(desktop.Page, 3)).ToHaveTextAsync("70 °C");
                await Task.Delay(TimeSpan.FromSeconds(4));
                await desktop.ScreenshotAsync("dashboard-device");
                await desktop.Page.Locator("#nav a[data-view='traffic']").ClickAsync();
                await Expect(desktop.Page.Locator("table.requests tbody tr").First).ToBeVisibleAsync();
                await Task.Delay(TimeSpan.FromSeconds(3));
                await desktop.ScreenshotAsync("dashboard-traffic");
                await desktop.Page.Locator("#nav a[data-view='config']").ClickAsync();
                await Expect(desktop.Page.Locator("table.config tbody tr").First).ToBeVisibleAsync();
                await desktop.ScreenshotAsync("dashboard-config", forDocs: false);
                Assert.Empty(desktop.Errors);
            }

            await using (var phone = await chromium.OpenAsync(new Uri(server.AdminUri, "#/device/1"), width: 390, height: 844))
            {
                await Expect(Value(phone.Page, 3)).ToHaveTextAsync("70 °C");
                await Task.Delay(TimeSpan.FromSeconds(2));
                await phone.ScreenshotAsync("dashboard-phone");
            }

            await using (var dark = await chromium.OpenAsync(server.AdminUri, scheme: ColorScheme.Dark))
            {
                await Expect(dark.Page.Locator("table.devices tr[data-unit='1']")).ToBeVisibleAsync();
                await Task.Delay(TimeSpan.FromSeconds(3));
                await dark.ScreenshotAsync("dashboard-dark");
                Assert.Empty(dark.Errors);
            }
        }
        finally
        {
            await traffic.CancelAsync();
            await load;
        }
    }

    private static ILocator Value(IPage page, int address) => page.Locator($"tr[data-address='{address}'] td.value");

    /// <summary>Viewer reads everything; Operator reads, and writes holding registers of unit 1.</summary>
    private static Dictionary<string, string?> Roles() => new()
    {
        ["security:roles:Viewer:0:access"] = "Read",
        ["security:roles:Operator:0:access"] = "Read",
        ["security:roles:Operator:1:access"] = "Write",
        ["security:roles:Operator:1:units"] = "1",
        ["security:roles:Operator:1:tables:0"] = "Holding",
        ["admin:tokens:0:name"] = "wall-display",
        ["admin:tokens:0:sha256"] = Sha256(ViewerToken),
        ["admin:tokens:0:role"] = "Viewer",
        ["admin:tokens:1:name"] = "ops",
        ["admin:tokens:1:sha256"] = Sha256(OperatorToken),
        ["admin:tokens:1:role"] = "Operator",
    };

    private static string Sha256(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
