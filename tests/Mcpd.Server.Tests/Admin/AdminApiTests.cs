using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Mcpd.Client.Mcp;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Admin;

/// <summary>The HTTP admin API (docs/api.md) on the real host.</summary>
public class AdminApiTests
{
    [Fact]
    public async Task Healthz_and_readyz_answer_on_the_admin_listener()
    {
        await using var server = await McpdTestServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.AdminUri };

        using var health = await http.GetAsync(new Uri("healthz", UriKind.Relative));
        using var ready = await http.GetAsync(new Uri("readyz", UriKind.Relative));
        using var readiness = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("ok\n", await health.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", readiness.RootElement.GetProperty("status").GetString());
        Assert.Equal("Healthy", readiness.RootElement.GetProperty("checks").GetProperty("sessions").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Devices_and_their_registers_read_with_names_and_typed_values_and_a_put_changes_what_clients_read()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["devices:0:unit"] = "1",
            ["devices:0:name"] = "boiler",
            ["devices:0:registers:0:table"] = "Holding",
            ["devices:0:registers:0:address"] = "0",
            ["devices:0:registers:0:name"] = "temperature",
            ["devices:0:registers:0:type"] = "Float32",
            ["devices:0:registers:0:unit"] = "°C",
            ["devices:0:registers:0:value"] = "21.5",
            ["devices:0:registers:1:table"] = "Input",
            ["devices:0:registers:1:address"] = "5",
            ["devices:0:registers:1:name"] = "pressure",
            ["devices:0:registers:1:scale"] = "0.1",
        });
        using var http = new HttpClient { BaseAddress = server.AdminUri };
        await using var modbus = await server.ConnectClientAsync();

        var devices = await http.GetFromJsonAsync<JsonElement>("api/devices");
        var holding = await http.GetFromJsonAsync<JsonElement>("api/devices/1/registers?table=holding&from=0&count=3");
        using var put = await http.PutAsJsonAsync("api/devices/1/registers/5?table=input", new { value = 12.3 });
        var written = await put.Content.ReadFromJsonAsync<JsonElement>();
        using var raw = await http.PutAsJsonAsync("api/devices/1/registers/9?table=holding", new { raw = new[] { 7, 8 } });
        using var unknown = await http.GetAsync(new Uri("api/devices/42/registers", UriKind.Relative));
        using var badTable = await http.GetAsync(new Uri("api/devices/1/registers?table=nope", UriKind.Relative));

        var device = devices.EnumerateArray().Single();
        Assert.Equal("boiler", device.GetProperty("name").GetString());
        Assert.Equal("simulated", device.GetProperty("kind").GetString());
        var first = holding.GetProperty("registers")[0];
        Assert.Equal("temperature", first.GetProperty("name").GetString());
        Assert.Equal("float32", first.GetProperty("type").GetString());
        Assert.Equal(21.5, first.GetProperty("value").GetDouble(), 3);
        Assert.False(holding.GetProperty("registers")[2].TryGetProperty("name", out _));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal(123, written.GetProperty("registers")[0].GetProperty("raw").GetInt32());
        Assert.Equal([123], await modbus.ReadInputRegistersAsync(1, 5, 1));
        Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
        Assert.Equal([7, 8], await modbus.ReadHoldingRegistersAsync(1, 9, 2));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badTable.StatusCode);
    }

    [Fact]
    public async Task Out_of_range_addresses_numeric_tables_and_bad_values_are_400_not_500()
    {
        await using var server = await McpdTestServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.AdminUri };

        using var huge = await http.PutAsJsonAsync("api/devices/1/registers/2147483647?table=holding", new { value = 1 });
        using var past = await http.PutAsJsonAsync("api/devices/1/registers/65535?table=holding", new { raw = new[] { 1, 2 } });
        using var numeric = await http.GetAsync(new Uri("api/devices/1/registers?table=7", UriKind.Relative));
        using var word = await http.PutAsJsonAsync("api/devices/1/registers/3?table=holding", new { value = 70000 });
        using var notJson = await http.PutAsync(new Uri("api/devices/1/registers/3", UriKind.Relative), new StringContent("{", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, huge.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, past.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, numeric.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, word.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
    }

    [Fact]
    public async Task A_device_behind_an_upstream_is_read_and_written_through_the_gateway()
    {
        await using var device = await McpdTestServer.StartAsync();
        await using var gateway = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["upstreams:plc:address"] = $"127.0.0.1:{device.ModbusEndPoint.Port}",
            ["devices:0:unit"] = "3",
            ["devices:0:name"] = "plc",
            ["devices:0:upstream"] = "plc",
            ["devices:0:upstreamUnit"] = "1",
        });
        using var http = new HttpClient { BaseAddress = gateway.AdminUri };

        var read = await http.GetFromJsonAsync<JsonElement>("api/devices/3/registers?table=holding&from=0&count=2");
        using var put = await http.PutAsJsonAsync("api/devices/3/registers/4?table=holding", new { value = 777 });
        var upstreams = await http.GetFromJsonAsync<JsonElement>("api/upstreams");
        await using var direct = await device.ConnectClientAsync();

        Assert.Equal(100, read.GetProperty("registers")[0].GetProperty("raw").GetInt32());
        Assert.Equal(85, read.GetProperty("registers")[1].GetProperty("raw").GetInt32());
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal([777], await direct.ReadHoldingRegistersAsync(1, 4, 1));
        Assert.Equal("tcp", upstreams.GetProperty("plc").GetProperty("kind").GetString());
    }

    [Fact]
    public async Task Connections_and_sessions_are_listed()
    {
        await using var server = await McpdTestServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.AdminUri };
        await using var modbus = await server.ConnectClientAsync();
        await modbus.ReadHoldingRegistersAsync(1, 0, 1);
        await modbus.ReadHoldingRegistersAsync(1, 0, 1);
        await using var mcp = await McpClient.ConnectAsync("127.0.0.1", server.McpEndPoint.Port);
        var sessionId = await Sessions.SessionTests.OpenAsync(mcp, "plc-9");

        var connections = await http.GetFromJsonAsync<JsonElement>("api/connections");
        var sessions = await http.GetFromJsonAsync<JsonElement>("api/sessions");

        // A whole session id resumes the session: the API shows its first 6 characters, as logs do.
        var shown = $"{sessionId[..6]}…";
        Assert.Contains(connections.EnumerateArray(), c => c.GetProperty("listener").GetString() == "modbus" && c.GetProperty("requests").GetInt64() == 2);
        Assert.Contains(connections.EnumerateArray(), c => c.GetProperty("listener").GetString() == "mcp" && c.GetProperty("session").GetString() == shown);
        Assert.Equal("memory", sessions.GetProperty("store").GetString());
        Assert.Contains(sessions.GetProperty("sessions").EnumerateArray(), s => s.GetProperty("id").GetString() == shown && s.GetProperty("clientId").GetString() == "plc-9");
        Assert.DoesNotContain(sessionId, connections.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(sessionId, sessions.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_ipv4_client_of_a_listener_on_every_interface_is_listed_with_its_ipv4_address()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?> { ["modbus:bind"] = "*" });
        using var http = new HttpClient { BaseAddress = server.AdminUri };
        await using var modbus = await Client.Modbus.ModbusTcpClient.ConnectAsync("127.0.0.1", server.ModbusEndPoint.Port);

        var connections = await http.GetFromJsonAsync<JsonElement>("api/connections");

        var remote = connections.EnumerateArray().Single(c => c.GetProperty("listener").GetString() == "modbus").GetProperty("remote").GetString();
        Assert.StartsWith("127.0.0.1:", remote, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"raw\":[\"a\"]}", "raw values are 0..65535")]
    [InlineData("{\"raw\":[1.5]}", "raw values are 0..65535")]
    [InlineData("{\"value\":5,\"raw\":[1]}", "give either \"value\" or \"raw\", not both")]
    [InlineData("null", "the body must be {\"value\": ...} or {\"raw\": [...]}")]
    [InlineData("true", "the body must be {\"value\": ...} or {\"raw\": [...]}")]
    [InlineData("{}", "the body must be {\"value\": ...} or {\"raw\": [...]}")]
    [InlineData("\"abc\"", "the body must be {\"value\": ...} or {\"raw\": [...]}")]
    [InlineData("{\"raw\":[1,2", "the body must be JSON")]
    public async Task Every_bad_write_body_is_a_400_with_a_json_error(string body, string expected)
    {
        await using var server = await McpdTestServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.AdminUri };

        // Address 100 has no map entry: a value there must be a raw number.
        using var response = await http.PutAsync("api/devices/1/registers/100?table=holding", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString();
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    /// <summary>
    /// Found by the admin-json fuzz target: JsonDocument checks a string's text only when it is read, so a value that is
    /// not Unicode (bytes that are not UTF-8, an escaped lone surrogate) was a 500 for a bit or a map entry.
    /// </summary>
    [Theory]
    [InlineData("coils", 0)]
    [InlineData("holding", 0)]
    public async Task A_write_value_that_is_not_unicode_text_is_a_400(string table, int address)
    {
        await using var server = await McpdTestServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.AdminUri };
        byte[][] bodies = ["{\"value\":\"\\ud800\"}"u8.ToArray(), [.. "{\"value\":\"on"u8, 0x80, .. "\"}"u8]];

        foreach (var body in bodies)
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new("application/json");
            using var response = await http.PutAsync($"api/devices/1/registers/{address}?table={table}", content);

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString();
            Assert.Equal("the value is not Unicode text (bytes that are not UTF-8, or an escaped lone surrogate)", error);
        }
    }

    [Fact]
    public async Task A_write_body_over_4_KiB_is_refused_unread()
    {
        await using var server = await McpdTestServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.AdminUri };
        var huge = "{\"raw\":[" + string.Join(',', Enumerable.Repeat("1", 5000)) + "]}";

        using var response = await http.PutAsync("api/devices/1/registers/0?table=holding", new StringContent(huge, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("the body is over 4096 bytes", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString(), StringComparison.Ordinal);
    }
}
