using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Mcpd.Server.Tests.Gateway;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Admin;

/// <summary>
/// The admin API's 502 for a device behind an upstream says who answered: the device's own exception, or the gateway
/// exception mcpd answered in its place because the device could not be reached or did not answer (docs/api.md).
/// </summary>
public sealed class AdminGatewayErrorTests
{
    [Fact]
    public async Task A_bus_that_is_down_is_mcpds_0A_not_the_devices()
    {
        // The serial port does not exist: the bus is Down, nothing is sent.
        var links = SocatPtyPair.NewLinkPaths();
        await using var server = await McpdTestServer.StartAsync(RtuBench.Settings(new() { ["upstreams:bus:rtu:port"] = links.MasterEnd }));
        using var http = new HttpClient { BaseAddress = server.AdminUri };

        var (status, error) = await ReadAsync(http, "api/devices/1/registers?table=holding&from=0&count=1");

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Equal(
            "mcpd answered Modbus exception 0A (GatewayPathUnavailable) in the device's place, through upstream 'bus' (Down): "
            + "mcpd has no path to the device (the upstream is down or full); nothing was sent",
            error);
    }

    [Fact]
    public async Task A_silent_unit_is_mcpds_0B_and_a_refusal_of_the_device_is_the_devices()
    {
        await using var bus = await RtuBench.StartWithSlaveProcessAsync(new() { ["upstreams:bus:requestTimeout"] = "00:00:00.300" });
        using var http = new HttpClient { BaseAddress = bus.Server.AdminUri };

        // Unit 2 is not on the line; the slave process (unit 1) has 100 holding registers and answers 02 beyond them.
        var (silentStatus, silent) = await ReadAsync(http, "api/devices/2/registers?table=holding&from=0&count=1");
        var (refusedStatus, refused) = await ReadAsync(http, "api/devices/1/registers?table=holding&from=99&count=2");
        using var write = await http.PutAsJsonAsync("api/devices/2/registers/0?table=holding", new { raw = new[] { 5 } });

        Assert.Equal(HttpStatusCode.BadGateway, silentStatus);
        Assert.StartsWith("mcpd answered Modbus exception 0B (GatewayTargetDeviceFailedToRespond) in the device's place, through upstream 'bus' (", silent, StringComparison.Ordinal);
        Assert.EndsWith("): no usable answer came from the device (none in time, only garbled ones, a broken link), or the upstream holds it for dead for now (RTU quarantine, open circuit)", silent, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadGateway, refusedStatus);
        Assert.Equal("the device answered Modbus exception 02 (IllegalDataAddress)", refused);
        Assert.Equal(HttpStatusCode.BadGateway, write.StatusCode);
        Assert.StartsWith("mcpd answered Modbus exception 0B", await ErrorOf(write), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_TCP_device_that_cannot_be_reached_is_mcpds_0B()
    {
        using var closed = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["upstreams:plc:address"] = $"127.0.0.1:{port}",
            ["upstreams:plc:probe:interval"] = "00:00:00",
            ["devices:0:unit"] = "1",
            ["devices:0:upstream"] = "plc",
        });
        using var http = new HttpClient { BaseAddress = server.AdminUri };

        var (status, error) = await ReadAsync(http, "api/devices/1/registers?table=holding&from=0&count=1");

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.StartsWith("mcpd answered Modbus exception 0B (GatewayTargetDeviceFailedToRespond) in the device's place, through upstream 'plc' (", error, StringComparison.Ordinal);
    }

    private static async Task<(HttpStatusCode Status, string Error)> ReadAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, await ErrorOf(response));
    }

    private static async Task<string> ErrorOf(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString()!;
}
