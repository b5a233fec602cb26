using System.Text;
using System.Text.Json;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Hosting;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Mcp;

/// <summary>The project's MCP client against the real server.</summary>
public class McpClientTests
{
    [Fact]
    public async Task Many_calls_in_flight_on_one_connection_each_get_their_own_answer()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using var client = await Connect(server);

        var calls = Enumerable.Range(0, 200).Select(async i =>
        {
            var response = await client.CallAsync("sys.echo", Encoding.UTF8.GetBytes($"message {i}"));
            return (i, response);
        });

        foreach (var (i, response) in await Task.WhenAll(calls))
        {
            Assert.Equal(McpStatus.Ok, response.Status);
            Assert.Equal($"message {i}", response.BodyText);
        }
    }

    [Fact]
    public async Task One_way_send_completes_on_the_ack_and_unknown_methods_say_not_found()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using var client = await Connect(server);

        Assert.Equal(McpStatus.Ok, await client.SendOneWayAsync("sys.echo", "fire and forget"u8.ToArray()));
        Assert.Equal(McpStatus.NotFound, await client.SendOneWayAsync("no.such"));
        var response = await client.CallAsync("no.such");
        Assert.Equal(McpStatus.NotFound, response.Status);
        using var json = JsonDocument.Parse(response.Body);
        Assert.Equal("NOT_FOUND", json.RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Ping_measures_a_round_trip()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using var client = await Connect(server);

        var rtt = await client.PingAsync();

        Assert.InRange(rtt, TimeSpan.Zero, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Modbus_pdu_through_the_client_reads_the_seed_table()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using var client = await Connect(server);

        var response = await client.CallAsync("modbus.pdu", Convert.FromHexString("0300000002"), [new("unit", "1")]);

        Assert.Equal("030400640055", Convert.ToHexString(response.Body));
    }

    [Fact]
    public async Task A_call_without_an_answer_times_out_with_a_clear_message()
    {
        var device = new GatedDevice();
        await using var server = await McpdTestServer.StartAsync(configure: builder => builder.Services.AddModbusDevice(2, device));
        await using var client = await Connect(server, TimeSpan.FromMilliseconds(300));

        var error = await Assert.ThrowsAsync<TimeoutException>(() => client.CallAsync("modbus.pdu", Convert.FromHexString("0300000001"), [new("unit", "2")]));

        Assert.Contains("modbus.pdu", error.Message, StringComparison.Ordinal);
        Assert.Contains("within 00:00:00.3", error.Message, StringComparison.Ordinal);
        device.Open();
        // The late answer is dropped; the next call gets its own.
        Assert.Equal("still mine", (await client.CallAsync("sys.echo", "still mine"u8.ToArray())).BodyText);
    }

    [Fact]
    public async Task Server_shutdown_fails_waiting_calls_with_the_servers_reason()
    {
        var device = new GatedDevice();
        var server = await McpdTestServer.StartAsync(configure: builder => builder.Services.AddModbusDevice(2, device));
        await using var client = await Connect(server);
        var waiting = client.CallAsync("modbus.pdu", Convert.FromHexString("0300000001"), [new("unit", "2")]);
        while (device.Started == 0)
        {
            await Task.Delay(10);
        }

        var stopping = server.StopAsync();
        device.Open();
        await stopping;
        await server.DisposeAsync();

        // The request in flight was answered before the goodbye; what comes after fails clearly.
        Assert.Equal(McpStatus.Ok, (await waiting).Status);
        var error = await Assert.ThrowsAsync<IOException>(() => client.CallAsync("sys.echo"));
        Assert.Contains("ERROR SHUTTING_DOWN", error.Message, StringComparison.Ordinal);
    }

    private static Task<McpClient> Connect(McpdTestServer server, TimeSpan? timeout = null) =>
        McpClient.ConnectAsync("127.0.0.1", server.McpEndPoint.Port, new McpClientOptions { RequestTimeout = timeout ?? TimeSpan.FromSeconds(5) });
}
