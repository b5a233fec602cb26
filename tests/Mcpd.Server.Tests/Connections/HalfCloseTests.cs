using System.Net.Sockets;
using System.Text;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Transport;
using Mcpd.Server.Hosting;
using Mcpd.Server.Tests.Mcp;
using Mcpd.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Mcpd.Server.Tests.Connections;

/// <summary>
/// A peer that sends its requests and then half-closes (FIN: "no more requests") still gets every answer, then the
/// server closes. Half-close ends input, not the connection (RFC 9293 3.6; Modbus Messaging on TCP/IP 4.3.1 leaves
/// the close to the client, who may shut its sending side first).
/// </summary>
public abstract class HalfCloseTests(TransportKind transport)
{
    [Fact]
    public async Task A_modbus_request_still_running_at_the_half_close_is_answered_then_the_connection_closes()
    {
        var device = new GatedDevice();
        await using var server = await McpdTestServer.StartAsync(McpdTestServer.WithTransport(transport), builder => builder.Services.AddModbusDevice(2, device));
        using var socket = await server.ConnectRawAsync();

        await socket.SendHexAsync("000100000006020600101234");
        await Eventually.HoldsAsync(() => device.Started == 1, TimeSpan.FromSeconds(5));
        socket.Shutdown(SocketShutdown.Send);
        await Task.Delay(200, TestContext.Current.CancellationToken);
        device.Open();

        Assert.Equal("000100000006020600101234", await socket.ReceiveHexAsync(12));
        Assert.True(await socket.IsClosedByServerAsync());
    }

    [Fact]
    public async Task A_request_in_flight_when_the_peer_resets_is_cancelled()
    {
        var device = new GatedDevice();
        await using var server = await McpdTestServer.StartAsync(McpdTestServer.WithTransport(transport), builder => builder.Services.AddModbusDevice(2, device));
        var socket = await server.ConnectRawAsync();

        await socket.SendHexAsync("000100000006020600101234");
        await Eventually.HoldsAsync(() => device.Started == 1, TimeSpan.FromSeconds(5));
        socket.LingerState = new LingerOption(true, 0);
        socket.Dispose();

        await Eventually.HoldsAsync(() => device.Cancelled == 1, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_write_through_the_gateway_sent_before_the_half_close_reaches_the_device_and_is_answered()
    {
        await using var device = await McpdTestServer.StartAsync(new Dictionary<string, string?> { ["devices:0:unit"] = "1" });
        await using var gateway = await McpdTestServer.StartAsync(McpdTestServer.WithTransport(transport, new Dictionary<string, string?>
        {
            ["upstreams:dev:address"] = $"127.0.0.1:{device.ModbusEndPoint.Port}",
            ["devices:0:unit"] = "1",
            ["devices:0:upstream"] = "dev",
        }));
        using var socket = await gateway.ConnectRawAsync();

        // FC06 40001 := 0x0BB8, then FIN at once.
        await socket.SendHexAsync("000700000006010600000BB8");
        socket.Shutdown(SocketShutdown.Send);

        Assert.Equal("000700000006010600000BB8", await socket.ReceiveHexAsync(12));
        Assert.True(await socket.IsClosedByServerAsync());
        await using var direct = await device.ConnectClientAsync();
        Assert.Equal([3000], await direct.ReadHoldingRegistersAsync(1, 0, 1));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_asynchronous_mcp_request_is_answered_after_the_half_close(bool throughALane)
    {
        var settings = new Dictionary<string, string?>();
        if (throughALane)
        {
            settings["routing:lanes:slow:workers"] = "1";
            settings["routing:rules:0:method"] = "sys.delay";
            settings["routing:rules:0:target"] = "lane:slow";
        }

        await using var server = await McpdTestServer.StartAsync(McpdTestServer.WithTransport(transport, settings));
        using var socket = await server.ConnectRawAsync(server.McpEndPoint);

        await McpServerTests.SendAsync(socket, output => McpPayload.WriteRequest(output, 41, McpRequestFlags.None, "sys.delay", [new("delay-ms", "300")], "late"u8));
        socket.Shutdown(SocketShutdown.Send);

        var body = await McpServerTests.ReadResponseAsync(socket, 41, McpStatus.Ok);
        Assert.Equal("late", Encoding.UTF8.GetString(body));
        Assert.True(await socket.IsClosedByServerAsync());
    }
}

/// <summary>The tests above over mcpd's epoll transport.</summary>
public sealed class HalfCloseTestsOnEpoll() : HalfCloseTests(TransportKind.Epoll);

/// <summary>The tests above over Kestrel's socket transport.</summary>
public sealed class HalfCloseTestsOnSockets() : HalfCloseTests(TransportKind.Sockets);
