using System.Net;
using System.Net.Sockets;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Mcp;

/// <summary>Random bytes and truncated frames, on every listener, never crash the server nor disturb other connections.</summary>
public class GarbageTests
{
    [Fact]
    public async Task Random_bytes_on_many_connections_leave_well_behaved_clients_unharmed()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?> { ["mcp:crcPort"] = "0" });
        await using var mcp = await McpClient.ConnectAsync("127.0.0.1", server.McpEndPoint.Port);
        await using var modbus = await server.ConnectClientAsync();
        var random = new Random(4242);
        IPEndPoint[] listeners = [server.ModbusEndPoint, server.McpEndPoint, server.McpCrcEndPoint];

        for (var round = 0; round < 60; round++)
        {
            using var garbage = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await garbage.ConnectAsync(listeners[round % listeners.Length]);
            var bytes = new byte[random.Next(1, 2000)];
            random.NextBytes(bytes);
            if (round % 4 == 0)
            {
                // A plausible header with a truncated body: the server waits for the rest, then sees the close.
                (bytes[0], bytes[1], bytes[2], bytes[3]) = (0x4D, 0x43, 0x01, 0x00);
            }

            await garbage.SendAsync(bytes);
            garbage.Close();

            var echo = await mcp.CallAsync("sys.echo", BitConverter.GetBytes(round));
            Assert.Equal((McpStatus.Ok, round), (echo.Status, BitConverter.ToInt32(echo.Body)));
            Assert.Equal([100, 85], await modbus.ReadHoldingRegistersAsync(1, 0, 2));
        }
    }
}
